"""Input of the circuit-breaker compute node: configuration, current state, event."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra._core import ModelCircuitBreakerSubcontract
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_event import (
    ModelCircuitBreakerEvent,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_state import (
    ModelCircuitBreakerState,
)

__all__ = ["ModelCircuitBreakerComputeInput"]


class ModelCircuitBreakerComputeInput(BaseModel):
    """(config, state, event): the breaker is configured by core's circuit-breaker subcontract."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    config: ModelCircuitBreakerSubcontract
    state: ModelCircuitBreakerState = ModelCircuitBreakerState()
    event: ModelCircuitBreakerEvent
