"""Dead letters: the original bytes and headers (or a reference to them), plus a sanitised record.

Whole form: a DLQ message keeps the failed message's value byte for byte and its headers, and
adds one header (``onex-dlq-record``) holding the JSON of ``ModelDlqRecord``.

Reference form, for a message too large to dead-letter whole: the DLQ value is the first
``DLQ_VALUE_PREFIX_BYTES`` of the original, the headers are cut to a budget, and the record
says so (``value_truncated``, ``headers_truncated``) and carries the original's size and
SHA-256; the original stays at ``original_topic``/``partition``/``offset`` for as long as that
topic retains it.

Lineage: a message replayed from the DLQ carries ``onex-replay-of`` (the record id) and
``onex-replay-count``. When it fails again, its DLQ record keeps that record id with its
replay count: the same dead letter, updated, never a new original. Nothing consumed from a DLQ
topic is ever dead-lettered again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.error_ids import error_id_of, raise_site
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_ENVELOPE_ID,
    HEADER_PAYLOAD_TYPE,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_OF,
)
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for, parse_topic
from omnibase_infra.sanitize import sanitize_text

__all__ = [
    "DLQ_HEADER_BUDGET_BYTES",
    "DLQ_VALUE_PREFIX_BYTES",
    "ModelDlqRecord",
    "build_dlq_message",
    "is_dlq_topic",
    "message_size",
    "read_dlq_record",
    "reference_form",
]

# The reference form keeps this much of the original value (enough to recognise it).
DLQ_VALUE_PREFIX_BYTES = 4096
# ...and at most this many bytes of original headers, each value cut to _HEADER_VALUE_BYTES.
DLQ_HEADER_BUDGET_BYTES = 16_384
_HEADER_VALUE_BYTES = 1024
_HEADER_NAME_BYTES = 256
_PAYLOAD_TYPE_CHARS = 256


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
    value_bytes: int | None = Field(default=None, ge=0, description="size of the original value")
    value_sha256: str | None = Field(default=None, description="SHA-256 of the original value")
    value_truncated: bool = Field(
        default=False, description="the DLQ value is only a prefix: the original is referenced"
    )
    headers_truncated: bool = Field(
        default=False, description="some original headers were cut or left out"
    )
    replay_count: int = Field(
        default=0, ge=0, description="how many replays of this dead letter failed again"
    )
    error_id: UUID | None = Field(
        default=None,
        description="an unexpected exception's id; its traceback is logged once with this id",
    )

    @field_validator("error_message")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        """The reason may quote a driver's message: mask what it carries."""
        return sanitize_text(value)[:2000]

    @field_validator("payload_type")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        """The payload type comes from a header the sender chose: keep the record bounded."""
        return None if value is None else value[:_PAYLOAD_TYPE_CHARS]


def is_dlq_topic(topic: str) -> bool:
    """Whether ``topic`` is a dead-letter topic."""
    return parse_topic(topic).kind is EnumTopicKind.DLQ


def _uuid_or_none(text: str | None) -> UUID | None:
    if not text:
        return None
    try:
        return UUID(text[:64])
    except ValueError:
        return None


def _replay_count(headers: Mapping[str, str]) -> int:
    try:
        return max(int(headers.get(HEADER_REPLAY_COUNT, "1")[:12]), 1)
    except ValueError:
        return 1


def build_dlq_message(
    message: BusMessage,
    *,
    consumer_group: str,
    error: BaseException,
    attempts: int = 1,
    first_failure_at: datetime | None = None,
) -> tuple[str, ModelDlqRecord, dict[str, str]]:
    """The DLQ topic, record and headers (whole form) for a message that failed for good.

    A replayed message (``onex-replay-of``) keeps the record id it was replayed from.
    """
    now = datetime.now(UTC)
    replay_of = _uuid_or_none(message.headers.get(HEADER_REPLAY_OF))
    lineage: dict[str, object] = {}
    if replay_of is not None:
        lineage = {"record_id": replay_of, "replay_count": _replay_count(message.headers)}
    record = ModelDlqRecord.model_validate(
        {
            **lineage,
            "original_topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "consumer_group": consumer_group,
            "error_type": type(error).__name__,
            "error_message": _reason(error),
            "error_id": error_id_of(error),
            "attempts": attempts,
            "first_failure_at": first_failure_at or now,
            "last_failure_at": now,
            "correlation_id": _uuid_or_none(message.headers.get(HEADER_CORRELATION_ID)),
            "envelope_id": _uuid_or_none(message.headers.get(HEADER_ENVELOPE_ID)),
            "payload_type": message.headers.get(HEADER_PAYLOAD_TYPE),
            "value_bytes": len(message.value),
            "value_sha256": hashlib.sha256(message.value).hexdigest(),
        }
    )
    headers = dict(message.headers)
    headers[HEADER_DLQ_RECORD] = record.model_dump_json()
    return dlq_topic_for(message.topic), record, headers


def _reason(error: BaseException) -> str:
    """The error's message, or (a bare ``assert``) its type and where it was raised."""
    text = str(error)
    if text:
        return text
    site = raise_site(error)
    return f"{type(error).__name__} raised" + (f" at {site}" if site else "")


def message_size(key: bytes | None, value: bytes, headers: Mapping[str, str]) -> int:
    """Bytes a message carries: key, value, header names and values (UTF-8)."""
    size = len(key or b"") + len(value)
    for name, text in headers.items():
        size += len(name.encode()) + len(text.encode())
    return size


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (never in the middle of a character)."""
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def reference_form(
    value: bytes,
    headers: Mapping[str, str],
    record: ModelDlqRecord,
    *,
    prefix_bytes: int = DLQ_VALUE_PREFIX_BYTES,
    header_budget: int = DLQ_HEADER_BUDGET_BYTES,
) -> tuple[bytes, dict[str, str], ModelDlqRecord]:
    """The reference form of a dead letter: a bounded prefix, bounded headers, marked record."""
    kept: dict[str, str] = {}
    spent = 0
    truncated = False
    for name, text in headers.items():
        if name == HEADER_DLQ_RECORD:
            continue
        cut = _cut(text, _HEADER_VALUE_BYTES)
        cost = len(name.encode()) + len(cut.encode())
        if len(name.encode()) > _HEADER_NAME_BYTES or spent + cost > header_budget:
            truncated = True
            continue
        truncated = truncated or cut != text
        kept[name] = cut
        spent += cost
    marked = record.model_copy(
        update={"value_truncated": len(value) > prefix_bytes, "headers_truncated": truncated}
    )
    kept[HEADER_DLQ_RECORD] = marked.model_dump_json()
    return value[:prefix_bytes], kept, marked


def read_dlq_record(message: BusMessage) -> ModelDlqRecord | None:
    """The DLQ record of a message consumed from a DLQ topic (None if it carries none)."""
    raw = message.headers.get(HEADER_DLQ_RECORD)
    return None if raw is None else ModelDlqRecord.model_validate_json(raw)
