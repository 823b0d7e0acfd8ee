"""The one place this package imports omnibase-core from.

Core has moved and removed names in patch releases; routing every import through this module
makes an upgrade a one-file change, and ``tests/unit/test_core_surface.py`` imports each name so
drift fails loudly. Names load on first access (PEP 562): importing core's node classes costs
about a second, and the runtime only pays it when a node of that archetype is instantiated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnibase_infra.lazy_names import load_lazy_name

if TYPE_CHECKING:
    from omnibase_core.container import ModelONEXContainer
    from omnibase_core.enums.enum_circuit_breaker_state import EnumCircuitBreakerState
    from omnibase_core.enums.enum_consumer_group_purpose import EnumConsumerGroupPurpose
    from omnibase_core.enums.enum_core_error_code import EnumCoreErrorCode
    from omnibase_core.enums.enum_execution_shape import EnumMessageCategory
    from omnibase_core.enums.enum_node_kind import EnumNodeKind
    from omnibase_core.enums.enum_node_type import EnumNodeType
    from omnibase_core.enums.enum_onex_status import EnumOnexStatus
    from omnibase_core.errors.model_onex_error import ModelOnexError
    from omnibase_core.event_bus.util_consumer_group import compute_consumer_group_id
    from omnibase_core.mixins.mixin_lazy_value import MixinLazyValue
    from omnibase_core.models.compute.model_compute_input import ModelComputeInput
    from omnibase_core.models.compute.model_compute_output import ModelComputeOutput
    from omnibase_core.models.contracts import (
        ModelContractCompute,
        ModelContractEffect,
        ModelContractOrchestrator,
        ModelContractReducer,
    )
    from omnibase_core.models.contracts.model_contract_base import ModelContractBase
    from omnibase_core.models.contracts.model_contract_workflow_definition import (
        ModelContractWorkflowDefinition,
    )
    from omnibase_core.models.contracts.subcontracts.model_circuit_breaker_subcontract import (
        ModelCircuitBreakerSubcontract,
    )
    from omnibase_core.models.contracts.subcontracts.model_fsm_state_definition import (
        ModelFSMStateDefinition,
    )
    from omnibase_core.models.contracts.subcontracts.model_fsm_state_transition import (
        ModelFSMStateTransition,
    )
    from omnibase_core.models.contracts.subcontracts.model_fsm_subcontract import (
        ModelFSMSubcontract,
    )
    from omnibase_core.models.contracts.subcontracts.model_retry_subcontract import (
        ModelRetrySubcontract,
    )
    from omnibase_core.models.contracts.subcontracts.model_topic_meta import ModelTopicMeta
    from omnibase_core.models.discovery import (
        ModelNodeHealthEvent,
        ModelNodeIntrospectionEvent,
        ModelNodeShutdownEvent,
        ModelRequestIntrospectionEvent,
    )
    from omnibase_core.models.dispatch.model_handler_ref import ModelHandlerRef
    from omnibase_core.models.events.model_event_envelope import ModelEventEnvelope
    from omnibase_core.models.node_metadata.model_node_capability import ModelNodeCapability
    from omnibase_core.models.primitives.model_semver import ModelSemVer
    from omnibase_core.nodes import NodeCompute, NodeEffect, NodeOrchestrator, NodeReducer
    from omnibase_core.protocols.event_bus.protocol_event_bus import ProtocolEventBus
    from omnibase_core.protocols.event_bus.protocol_event_bus_headers import ProtocolEventBusHeaders
    from omnibase_core.protocols.event_bus.protocol_node_identity import ProtocolNodeIdentity
    from omnibase_core.utils.util_fsm_expression_parser import parse_expression

_SUBCONTRACTS = "omnibase_core.models.contracts.subcontracts"

_WHERE: dict[str, str] = {
    "MixinLazyValue": "omnibase_core.mixins.mixin_lazy_value",
    "ModelNodeCapability": "omnibase_core.models.node_metadata.model_node_capability",
    "EnumCircuitBreakerState": "omnibase_core.enums.enum_circuit_breaker_state",
    "EnumConsumerGroupPurpose": "omnibase_core.enums.enum_consumer_group_purpose",
    "EnumCoreErrorCode": "omnibase_core.enums.enum_core_error_code",
    "EnumMessageCategory": "omnibase_core.enums.enum_execution_shape",
    "EnumNodeKind": "omnibase_core.enums.enum_node_kind",
    "EnumNodeType": "omnibase_core.enums.enum_node_type",
    "EnumOnexStatus": "omnibase_core.enums.enum_onex_status",
    "ModelCircuitBreakerSubcontract": f"{_SUBCONTRACTS}.model_circuit_breaker_subcontract",
    "ModelComputeInput": "omnibase_core.models.compute.model_compute_input",
    "ModelComputeOutput": "omnibase_core.models.compute.model_compute_output",
    "ModelContractBase": "omnibase_core.models.contracts.model_contract_base",
    "ModelContractCompute": "omnibase_core.models.contracts",
    "ModelContractEffect": "omnibase_core.models.contracts",
    "ModelContractOrchestrator": "omnibase_core.models.contracts",
    "ModelContractReducer": "omnibase_core.models.contracts",
    "ModelContractWorkflowDefinition": (
        "omnibase_core.models.contracts.model_contract_workflow_definition"
    ),
    "ModelEventEnvelope": "omnibase_core.models.events.model_event_envelope",
    "ModelFSMStateDefinition": f"{_SUBCONTRACTS}.model_fsm_state_definition",
    "ModelFSMStateTransition": f"{_SUBCONTRACTS}.model_fsm_state_transition",
    "ModelFSMSubcontract": f"{_SUBCONTRACTS}.model_fsm_subcontract",
    "ModelHandlerRef": "omnibase_core.models.dispatch.model_handler_ref",
    "ModelNodeHealthEvent": "omnibase_core.models.discovery",
    "ModelNodeIntrospectionEvent": "omnibase_core.models.discovery",
    "ModelNodeShutdownEvent": "omnibase_core.models.discovery",
    "ModelONEXContainer": "omnibase_core.container",
    "ModelOnexError": "omnibase_core.errors.model_onex_error",
    "ModelRequestIntrospectionEvent": "omnibase_core.models.discovery",
    "ModelRetrySubcontract": f"{_SUBCONTRACTS}.model_retry_subcontract",
    "ModelSemVer": "omnibase_core.models.primitives.model_semver",
    "ModelTopicMeta": f"{_SUBCONTRACTS}.model_topic_meta",
    "NodeCompute": "omnibase_core.nodes",
    "NodeEffect": "omnibase_core.nodes",
    "NodeOrchestrator": "omnibase_core.nodes",
    "NodeReducer": "omnibase_core.nodes",
    "ProtocolEventBus": "omnibase_core.protocols.event_bus.protocol_event_bus",
    "ProtocolEventBusHeaders": "omnibase_core.protocols.event_bus.protocol_event_bus_headers",
    "ProtocolNodeIdentity": "omnibase_core.protocols.event_bus.protocol_node_identity",
    "compute_consumer_group_id": "omnibase_core.event_bus.util_consumer_group",
    "parse_expression": "omnibase_core.utils.util_fsm_expression_parser",
}

__all__ = [
    "EnumCircuitBreakerState",
    "EnumConsumerGroupPurpose",
    "EnumCoreErrorCode",
    "EnumMessageCategory",
    "EnumNodeKind",
    "EnumNodeType",
    "EnumOnexStatus",
    "MixinLazyValue",
    "ModelCircuitBreakerSubcontract",
    "ModelComputeInput",
    "ModelComputeOutput",
    "ModelContractBase",
    "ModelContractCompute",
    "ModelContractEffect",
    "ModelContractOrchestrator",
    "ModelContractReducer",
    "ModelContractWorkflowDefinition",
    "ModelEventEnvelope",
    "ModelFSMStateDefinition",
    "ModelFSMStateTransition",
    "ModelFSMSubcontract",
    "ModelHandlerRef",
    "ModelNodeCapability",
    "ModelNodeHealthEvent",
    "ModelNodeIntrospectionEvent",
    "ModelNodeShutdownEvent",
    "ModelONEXContainer",
    "ModelOnexError",
    "ModelRequestIntrospectionEvent",
    "ModelRetrySubcontract",
    "ModelSemVer",
    "ModelTopicMeta",
    "NodeCompute",
    "NodeEffect",
    "NodeOrchestrator",
    "NodeReducer",
    "ProtocolEventBus",
    "ProtocolEventBusHeaders",
    "ProtocolNodeIdentity",
    "compute_consumer_group_id",
    "parse_expression",
]


def __getattr__(name: str) -> object:
    """Import a core name on first access and cache it on this module."""
    return load_lazy_name(__name__, name, _WHERE, globals())
