"""One step of a multi-step effect and the compensation that undoes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelEffectStep"]


class ModelEffectStep(BaseModel):
    """A named step; ``compensation`` names the action that undoes it (None: nothing to undo)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    compensation: str | None = Field(default=None, min_length=1, max_length=200)
