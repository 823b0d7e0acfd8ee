"""Builds the registration workflow from the three contracts and the container's handlers.

The orchestrator's ``workflow_coordination`` names the reducer and the effect (execution graph)
and maps announcements to topics (coordination rules); the reducer's contract holds the state
machine; the effect's contract holds the ``error_handling`` policy both capabilities run under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omnibase_infra._core import (
    EnumNodeKind,
    ModelContractOrchestrator,
    ModelContractReducer,
    ModelONEXContainer,
)
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.fsm.compiled_fsm import CompiledFSM
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.node_registration_orchestrator.workflow import RegistrationWorkflow
from omnibase_infra.nodes.node_registration_reducer.reducer import RegistrationReducer
from omnibase_infra.nodes.node_registry_effect.discovery import RegistrationDiscovery
from omnibase_infra.nodes.node_registry_effect.effect import (
    CAPABILITY_DISCOVERY,
    CAPABILITY_STORAGE,
    RegistryEffect,
)
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract

__all__ = ["ORCHESTRATOR_NAME", "WorkflowDeclaration", "build_workflow", "read_declaration"]

ORCHESTRATOR_NAME = "node_registration_orchestrator"


class WorkflowDeclaration:
    """What the orchestrator's contract declares: its steps, topics and publishing rules."""

    def __init__(
        self,
        contract: ModelNodeContract,
        reducer: ModelNodeContract,
        effect: ModelNodeContract,
        announce: Mapping[str, str],
        request_introspection: str | None,
    ) -> None:
        self.contract = contract
        self.reducer = reducer
        self.effect = effect
        self.announce = dict(announce)
        self.request_introspection = request_introspection


def read_declaration(contracts: Sequence[ModelNodeContract]) -> WorkflowDeclaration:
    """Find the orchestrator's contract and the nodes its workflow names; validate the rules."""
    by_name = {contract.name: contract for contract in contracts}
    contract = by_name.get(ORCHESTRATOR_NAME)
    if contract is None or not isinstance(contract.definition, ModelContractOrchestrator):
        raise ProtocolConfigurationError(f"{ORCHESTRATOR_NAME} contract is not loaded")
    file = str(contract.path)
    workflow = contract.definition.workflow_coordination.workflow_definition
    if workflow is None:
        raise ProtocolConfigurationError(
            "declares no workflow", file=file, field="workflow_coordination.workflow_definition"
        )
    steps = {node.node_type.upper(): node.node_id for node in workflow.execution_graph.nodes}
    found: dict[str, ModelNodeContract] = {}
    for kind in (EnumNodeKind.REDUCER, EnumNodeKind.EFFECT):
        name = steps.get(kind.value.upper())
        node = by_name.get(name or "")
        if node is None or node.archetype is not kind:
            raise ProtocolConfigurationError(
                f"the workflow needs a loaded {kind.value} node (execution graph names {name!r})",
                file=file,
                field="workflow_coordination.workflow_definition.execution_graph",
            )
        found[kind.value] = node
    rules = workflow.coordination_rules or {}
    announce = rules.get("announce")
    if not isinstance(announce, dict) or not all(
        isinstance(t, str) and t in contract.publish_topics for t in announce.values()
    ):
        raise ProtocolConfigurationError(
            "coordination_rules.announce must map announcements to declared publish topics",
            file=file,
            field="workflow_coordination.workflow_definition.coordination_rules.announce",
        )
    request = rules.get("request_introspection")
    if request is not None and request not in contract.publish_topics:
        raise ProtocolConfigurationError(
            "request_introspection topic is not declared in event_bus.publish_topics",
            file=file,
            field="workflow_coordination.workflow_definition.coordination_rules",
        )
    return WorkflowDeclaration(
        contract,
        found["reducer"],
        found["effect"],
        {str(k): str(v) for k, v in announce.items()},
        None if request is None else str(request),
    )


def build_workflow(
    declaration: WorkflowDeclaration,
    container: ModelONEXContainer,
    settings: ModelRegistrationSettings,
) -> RegistrationWorkflow:
    """The workflow with its reducer (compiled FSM) and effect (both capabilities)."""
    definition = declaration.reducer.definition
    if not isinstance(definition, ModelContractReducer) or definition.state_machine is None:
        raise ProtocolConfigurationError(
            "the registration reducer declares no state machine",
            file=str(declaration.reducer.path),
            field="state_machine",
        )
    reducer = RegistrationReducer(CompiledFSM(definition.state_machine))
    policy = declaration.effect.effect_policy or ModelEffectPolicy()
    effect = RegistryEffect(
        container.get_service(RegistrationStorage),  # one per process, shared with /registry
        RegistrationDiscovery(
            container.get_service(ProtocolServiceDiscovery),  # type: ignore[type-abstract]
            ttl_seconds=settings.expire_after_seconds,
        ),
        storage_executor=EffectExecutor.from_policy(CAPABILITY_STORAGE, policy),
        discovery_executor=EffectExecutor.from_policy(CAPABILITY_DISCOVERY, policy),
    )
    return RegistrationWorkflow(reducer, effect, settings, declaration.announce)
