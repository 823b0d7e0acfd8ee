"""The circuit-breaker COMPUTE node: pure (config, state, event) -> new state + decision.

Models and the transition function are importable without core's node classes; ``node.py``
holds the node class (import it only when the node is instantiated).
"""

from omnibase_infra.nodes.node_circuit_breaker_compute.enum_circuit_breaker_event_kind import (
    EnumCircuitBreakerEventKind,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_compute_input import (
    ModelCircuitBreakerComputeInput,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_decision import (
    ModelCircuitBreakerDecision,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_event import (
    ModelCircuitBreakerEvent,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_state import (
    ModelCircuitBreakerState,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.transition import (
    circuit_breaker_transition,
)

__all__ = [
    "EnumCircuitBreakerEventKind",
    "ModelCircuitBreakerComputeInput",
    "ModelCircuitBreakerDecision",
    "ModelCircuitBreakerEvent",
    "ModelCircuitBreakerState",
    "circuit_breaker_transition",
]
