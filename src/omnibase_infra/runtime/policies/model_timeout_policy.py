"""``ModelTimeoutPolicy``: the body of a ``timeout`` policy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelTimeoutPolicy"]


class ModelTimeoutPolicy(BaseModel):
    """The attempt timeout and the retry time budget of an effect (``error_handling``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_seconds: float = Field(gt=0, le=600, description="Timeout of each attempt.")
    max_elapsed_seconds: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="No retry starts once this much time has passed since the first attempt "
        "(null: the effect's default).",
    )
