"""One message read from a Kafka DLQ topic: where it sits, its record, its original bytes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.event_bus.dlq import ModelDlqRecord

__all__ = ["ModelKafkaDlqEntry"]


class ModelKafkaDlqEntry(BaseModel):
    """A dead letter as stored: DLQ position, parsed record (None if unreadable), bytes, headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dlq_topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    record: ModelDlqRecord | None
    key: bytes | None = None
    value: bytes
    headers: dict[str, str]
