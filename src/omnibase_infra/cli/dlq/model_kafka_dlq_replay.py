"""One recorded replay of a dead letter (a row of ``onex_dlq_replays``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelKafkaDlqReplay"]


class ModelKafkaDlqReplay(BaseModel):
    """Which dead letter was replayed to which topic, when and by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dlq_record_id: uuid.UUID
    original_topic: str
    correlation_id: uuid.UUID | None
    replayed_at: datetime
    replayed_by: str
