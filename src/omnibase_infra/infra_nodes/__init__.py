"""The seeds' YAML-only infrastructure nodes, with what their workflow calls.

``node_infra_reducer``: the infrastructure state of each service as core's FSM subcontract
(no handler code). ``node_infra_orchestrator``: the deployment workflow (no handler code): a
deploy-service command is planned by ``node_deployment_plan_compute`` (pure, shipped here), then
applied by ``node_deployment_apply_effect``, which the operator provides (where a deployment goes
is the environment's business; it returns ``ModelServiceDeployed``). The orchestrator publishes
the plan and the outcome, or the step that failed; the reducer follows the service's state and
emits record-state and alert intents.

Not loaded by default: add ``INFRA_NODES_DIR`` (this directory) to the runtime's
``contract_dirs`` together with the directory holding ``node_deployment_apply_effect``.
"""

from pathlib import Path

INFRA_NODES_DIR = Path(__file__).parent

__all__ = ["INFRA_NODES_DIR"]
