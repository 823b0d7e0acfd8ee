"""The state a circuit breaker carries from one event to the next."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra._core import EnumCircuitBreakerState

__all__ = ["ModelCircuitBreakerState"]


class ModelCircuitBreakerState(BaseModel):
    """CLOSED/OPEN/HALF_OPEN with its counters; times are seconds on the caller's clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: EnumCircuitBreakerState = EnumCircuitBreakerState.CLOSED
    consecutive_failures: int = Field(default=0, ge=0)
    open_until: float | None = None
    half_open_in_flight: int = Field(default=0, ge=0)
    half_open_successes: int = Field(default=0, ge=0)
    half_open_last_admit: float | None = None
    # The failure-rate window (CLOSED only): absolute bucket number of the newest bucket and
    # the per-bucket counts, indexed by bucket number modulo the bucket count (empty: zeros).
    window_bucket: int = 0
    window_successes: tuple[int, ...] = ()
    window_failures: tuple[int, ...] = ()
