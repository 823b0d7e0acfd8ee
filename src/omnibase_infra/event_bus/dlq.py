"""Dead letters: the original bytes and headers, plus a sanitised record of why and when.

A DLQ message keeps the failed message's value byte for byte and its headers, and adds one
header (``onex-dlq-record``) holding the JSON of ``ModelDlqRecord``. Nothing consumed from a DLQ
topic is ever dead-lettered again: a DLQ record cannot re-enter the DLQ as a record of itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_ENVELOPE_ID,
    HEADER_PAYLOAD_TYPE,
)
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for, parse_topic
from omnibase_infra.sanitize import sanitize_text

__all__ = ["ModelDlqRecord", "build_dlq_message", "is_dlq_topic", "read_dlq_record"]


class ModelDlqRecord(BaseModel):
    """Why and when a message was dead-lettered (never its content, never a secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: UUID = Field(default_factory=uuid4)
    original_topic: str
    partition: int = 0
    offset: int = 0
    consumer_group: str
    error_type: str
    error_message: str
    attempts: int = Field(default=1, ge=1)
    first_failure_at: datetime
    last_failure_at: datetime
    correlation_id: UUID | None = None
    envelope_id: UUID | None = None
    payload_type: str | None = None

    @field_validator("error_message")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        """The reason may quote a driver's message: mask what it carries."""
        return sanitize_text(value)[:2000]


def is_dlq_topic(topic: str) -> bool:
    """Whether ``topic`` is a dead-letter topic."""
    return parse_topic(topic).kind is EnumTopicKind.DLQ


def _uuid_or_none(text: str | None) -> UUID | None:
    if not text:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def build_dlq_message(
    message: BusMessage,
    *,
    consumer_group: str,
    error: BaseException,
    attempts: int = 1,
    first_failure_at: datetime | None = None,
) -> tuple[str, ModelDlqRecord, dict[str, str]]:
    """The DLQ topic, record and headers for a message that failed for good."""
    now = datetime.now(UTC)
    record = ModelDlqRecord(
        original_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        consumer_group=consumer_group,
        error_type=type(error).__name__,
        error_message=str(error) or type(error).__name__,
        attempts=attempts,
        first_failure_at=first_failure_at or now,
        last_failure_at=now,
        correlation_id=_uuid_or_none(message.headers.get(HEADER_CORRELATION_ID)),
        envelope_id=_uuid_or_none(message.headers.get(HEADER_ENVELOPE_ID)),
        payload_type=message.headers.get(HEADER_PAYLOAD_TYPE),
    )
    headers = dict(message.headers)
    headers[HEADER_DLQ_RECORD] = record.model_dump_json()
    return dlq_topic_for(message.topic), record, headers


def read_dlq_record(message: BusMessage) -> ModelDlqRecord | None:
    """The DLQ record of a message consumed from a DLQ topic (None if it carries none)."""
    raw = message.headers.get(HEADER_DLQ_RECORD)
    return None if raw is None else ModelDlqRecord.model_validate_json(raw)
