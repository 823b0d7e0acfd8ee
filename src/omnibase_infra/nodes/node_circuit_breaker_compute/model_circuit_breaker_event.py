"""One event fed to the circuit breaker: a request, or the outcome of an admitted call."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.node_circuit_breaker_compute.enum_circuit_breaker_event_kind import (
    EnumCircuitBreakerEventKind,
)

__all__ = ["ModelCircuitBreakerEvent"]


class ModelCircuitBreakerEvent(BaseModel):
    """``kind`` and when it happened (``at``: seconds on a monotonic clock of the caller)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EnumCircuitBreakerEventKind
    at: float
