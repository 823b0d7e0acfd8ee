"""One probe of one dependency: what the monitor saw, before the breaker's decision."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelDependencyProbe"]


class ModelDependencyProbe(BaseModel):
    """``probed`` is False when the breaker refused the probe (the dependency was not asked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dependency: str
    healthy: bool
    probed: bool = True
    latency_ms: float = Field(default=0.0, ge=0.0)
    detail: str | None = None
