"""A compensation that could not undo its step."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelCompensationFailure"]


class ModelCompensationFailure(BaseModel):
    """Which step's compensation failed, and why (sanitised)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    compensation: str
    error: str
