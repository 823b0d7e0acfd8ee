"""Event: time passed (the runtime's clock; nodes check their deadlines against it)."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TOPIC_RUNTIME_TICK", "ModelRuntimeTick"]

# The runtime's clock: where ``RuntimeTicker`` publishes its ticks (the platform's name).
TOPIC_RUNTIME_TICK: Final = "onex.evt.platform.runtime-tick.v1"


class ModelRuntimeTick(BaseModel):
    """One tick; handlers compare deadlines with ``now``, never with their own clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tick_id: UUID = Field(default_factory=uuid4)
    now: datetime
