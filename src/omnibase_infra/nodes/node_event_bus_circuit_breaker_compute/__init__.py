"""The seeds' name (003/004) of the circuit-breaker COMPUTE node: ``node_circuit_breaker_compute``.

An import alias only (no contract of its own, so no second node is loaded): the same models
and pure transition, under the module name the migration plan gives it.
"""

from omnibase_infra.nodes.node_circuit_breaker_compute import (
    EnumCircuitBreakerEventKind,
    ModelCircuitBreakerComputeInput,
    ModelCircuitBreakerDecision,
    ModelCircuitBreakerEvent,
    ModelCircuitBreakerState,
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
