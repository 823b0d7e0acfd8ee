"""YAML-only nodes: a REDUCER run by its FSM subcontract, an ORCHESTRATOR by its workflow.

A REDUCER or ORCHESTRATOR contract that subscribes to topics but declares no
``handler_routing`` is run by the handlers here, built by ``runtime/node_wiring``: the reducer
steps core's FSM subcontract (compiled, ``fsm.CompiledFSM``) per entity and emits the intents its
``fsm_binding`` maps actions to; the orchestrator runs its workflow's COMPUTE and EFFECT steps by
node name (computes in-process, effects under their contract's executor) and publishes what its
``coordination_rules`` declare. Layer: above dispatch and fsm, below runtime.
"""

from omnibase_infra.declarative.builder import declarative_routes, is_declarative
from omnibase_infra.declarative.checks import compute_result_problems, declarative_problems
from omnibase_infra.declarative.model_fsm_binding import ModelFsmBinding
from omnibase_infra.declarative.model_fsm_intent import ModelFsmIntent
from omnibase_infra.declarative.model_workflow_rules import ModelWorkflowRules
from omnibase_infra.declarative.model_workflow_step_failed import ModelWorkflowStepFailed
from omnibase_infra.declarative.workflow_step import WorkflowStep

__all__ = [
    "ModelFsmBinding",
    "ModelFsmIntent",
    "ModelWorkflowRules",
    "ModelWorkflowStepFailed",
    "WorkflowStep",
    "compute_result_problems",
    "declarative_problems",
    "declarative_routes",
    "is_declarative",
]
