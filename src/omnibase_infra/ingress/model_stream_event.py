"""One event as ``onex-infra tail`` shows it and the ingress streams it: where it sits on the
bus, its headers, and its value (the envelope as JSON, or the text when it is not JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = ["ModelStreamEvent", "stream_event_of"]


class ModelStreamEvent(BaseModel):
    """A consumed record: topic, partition, offset, time, key, headers and value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    key: str | None
    headers: dict[str, str]
    value: JsonValue


def stream_event_of(
    topic: str,
    partition: int,
    offset: int,
    timestamp_seconds: float | None,
    key: bytes | None,
    value: bytes,
    headers: Mapping[str, str],
) -> ModelStreamEvent:
    """The event of a consumed record; a value that is not JSON is kept as its text."""
    try:
        decoded: JsonValue = json.loads(value)
    except ValueError:  # not UTF-8 or not JSON: shown as text, undecodable bytes replaced
        decoded = value.decode("utf-8", errors="replace")
    return ModelStreamEvent(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=(datetime.fromtimestamp(timestamp_seconds, UTC) if timestamp_seconds else None),
        key=key.decode("utf-8", errors="replace") if key is not None else None,
        headers=dict(headers),
        value=decoded,
    )
