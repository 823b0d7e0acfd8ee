"""The health monitor's settings: ``nodes.health_monitor`` in the runtime config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelHealthMonitorSettings"]


class ModelHealthMonitorSettings(BaseModel):
    """How often every dependency is probed, and the breaker each one gets.

    The breaker is core's circuit-breaker subcontract (its rules: ``CircuitBreakerRules``):
    ``failure_threshold`` failed probes in a row open it; after ``open_seconds`` one probe is
    let through; ``success_threshold`` good probes close it again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="false: no monitor (nothing published)")
    interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="seconds between two rounds of probes"
    )
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="failed probes in a row that open a breaker"
    )
    success_threshold: int = Field(
        default=1, ge=1, le=10, description="good probes that close a half-open breaker"
    )
    open_seconds: int = Field(
        default=10, ge=10, le=300, description="an open breaker's wait before the next probe"
    )
