"""Event: time passed (the runtime's clock; registration checks liveness deadlines on it)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelRuntimeTick"]


class ModelRuntimeTick(BaseModel):
    """One tick; handlers compare deadlines with ``now``, never with their own clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tick_id: UUID = Field(default_factory=uuid4)
    now: datetime
