"""Output of the circuit-breaker compute node: the new state and the decision."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_state import (
    ModelCircuitBreakerState,
)

__all__ = ["ModelCircuitBreakerDecision"]


class ModelCircuitBreakerDecision(BaseModel):
    """``allowed``: may the requested call proceed (always True for outcome events).

    ``retry_after_seconds`` accompanies a refusal; ``transition_from`` is the previous state
    when this event changed it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: ModelCircuitBreakerState
    allowed: bool
    retry_after_seconds: float | None = Field(default=None, ge=0)
    transition_from: EnumCircuitBreakerState | None = None
