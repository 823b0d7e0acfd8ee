"""Event: a dependency of a runtime changed health or breaker state."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from omnibase_infra._core import EnumCircuitBreakerState

__all__ = ["TOPIC_DEPENDENCY_HEALTH_CHANGED", "ModelDependencyHealthChanged"]

TOPIC_DEPENDENCY_HEALTH_CHANGED: Final = "onex.evt.platform.dependency-health-changed.v1"


class ModelDependencyHealthChanged(BaseModel):
    """What changed for ``dependency`` of the runtime that published it (keyed by it).

    ``previous_healthy`` is None for the first observation (published only when unhealthy: a
    dependency down at start); ``detail`` is the sanitised reason of an unhealthy probe.

    ``effect`` names the EFFECT node whose executor's breaker this is (``dependency`` is then
    that breaker's service name, healthy only while it is closed); None: the monitor's own
    probe of a dependency.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dependency: str
    healthy: bool
    previous_healthy: bool | None = None
    breaker_state: EnumCircuitBreakerState
    previous_breaker_state: EnumCircuitBreakerState | None = None
    observed_at: datetime
    detail: str | None = None
    effect: str | None = None
