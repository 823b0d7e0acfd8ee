"""The answer of ``/ready``: ready or not, and every ping that decided it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult

__all__ = ["ModelReadinessReport"]


class ModelReadinessReport(BaseModel):
    """Ready only when the runtime has started and every check is healthy.

    ``status`` is ``starting`` (``pending`` names what the start waits for), ``ready``,
    ``not ready`` (a failed check says why) or ``stopping``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ready: bool
    status: str
    pending: tuple[str, ...] = ()
    checks: tuple[ModelHealthCheckResult, ...] = ()
