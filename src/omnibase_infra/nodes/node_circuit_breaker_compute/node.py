"""``NodeCircuitBreakerCompute``: the circuit breaker of the node inventory, as a COMPUTE node.

Declarative: the behaviour is the pure ``circuit_breaker_transition`` registered under the
contract's ``algorithm.algorithm_type``; ``process()`` is core's.
"""

from __future__ import annotations

from omnibase_infra._core import ModelONEXContainer, NodeCompute
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_compute_input import (
    ModelCircuitBreakerComputeInput,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_decision import (
    ModelCircuitBreakerDecision,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.transition import (
    circuit_breaker_transition,
)

__all__ = ["COMPUTATION_TYPE", "NodeCircuitBreakerCompute"]

COMPUTATION_TYPE = "circuit_breaker_transition"


class NodeCircuitBreakerCompute(
    NodeCompute[ModelCircuitBreakerComputeInput, ModelCircuitBreakerDecision]
):
    """(config, state, event) -> new state + decision; no side effects."""

    def __init__(self, container: ModelONEXContainer) -> None:
        super().__init__(container)
        self.register_computation(COMPUTATION_TYPE, circuit_breaker_transition)
