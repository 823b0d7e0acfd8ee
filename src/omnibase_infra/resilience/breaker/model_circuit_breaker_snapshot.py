"""A circuit breaker's state at one moment, for health reports and dashboards."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra._core import EnumCircuitBreakerState

__all__ = ["ModelCircuitBreakerSnapshot"]


class ModelCircuitBreakerSnapshot(BaseModel):
    """State, counters and thresholds of one breaker; ``retry_after_seconds`` only when OPEN."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_name: str
    node: str = Field(default="", description="the node that owns the breaker; '' for none")
    state: EnumCircuitBreakerState
    consecutive_failures: int = Field(ge=0)
    failure_threshold: int = Field(ge=1)
    reset_timeout_seconds: float = Field(gt=0)
    retry_after_seconds: float | None = Field(default=None, ge=0)
    half_open_successes: int = Field(ge=0)
    success_threshold: int = Field(ge=1)
