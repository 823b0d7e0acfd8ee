"""DLQ replay logic without a broker: headers, skipping replayed records, rate-limit schedule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from omnibase_infra.event_bus import kafka_dlq
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_REPLAY_OF,
)
from omnibase_infra.event_bus.kafka_dlq import PublishStep, replay_dlq, replay_headers
from omnibase_infra.event_bus.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.event_bus.model_kafka_dlq_filter import ModelKafkaDlqFilter


def _entry(offset: int, error_type: str = "TimeoutError") -> ModelKafkaDlqEntry:
    now = datetime.now(UTC)
    record = ModelDlqRecord(
        original_topic="onex.evt.test.orders.v1",
        consumer_group="g",
        error_type=error_type,
        error_message="failed",
        first_failure_at=now,
        last_failure_at=now,
        correlation_id=uuid.uuid4(),
    )
    headers = {
        HEADER_CORRELATION_ID: str(record.correlation_id),
        HEADER_DLQ_RECORD: record.model_dump_json(),
    }
    return ModelKafkaDlqEntry(
        dlq_topic="onex.dlq.test.orders.v1",
        partition=0,
        offset=offset,
        record=record,
        value=f"v{offset}".encode(),
        headers=headers,
    )


class _Producer:
    """Records what would be published (replay_dlq only calls publish)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        self.sent.append((topic, value, headers))


class _Recorder:
    """A replay record kept in memory (the PostgreSQL store is tested on the real server)."""

    def __init__(self, done: set[uuid.UUID]) -> None:
        self.done = done
        self.recorded: list[uuid.UUID] = []

    async def replayed_ids(self, record_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return self.done & set(record_ids)

    async def record_replay(
        self, entry: ModelKafkaDlqEntry, record: ModelDlqRecord, publish: PublishStep
    ) -> None:
        await publish()
        self.recorded.append(record.record_id)


def test_replay_headers_drop_the_record_and_name_it() -> None:
    """A replayed message keeps its correlation id, loses the DLQ record, names the record."""
    entry = _entry(0)
    assert entry.record is not None
    headers = replay_headers(entry, entry.record)
    assert headers[HEADER_CORRELATION_ID] == str(entry.record.correlation_id)
    assert headers[HEADER_REPLAY_OF] == str(entry.record.record_id)
    assert HEADER_DLQ_RECORD not in headers


async def test_replay_skips_replayed_records_unless_again() -> None:
    """Records already replayed are skipped; ``again`` replays them too."""
    entries = [_entry(0), _entry(1)]
    first = entries[0].record
    assert first is not None
    producer = _Producer()
    recorder = _Recorder({first.record_id})
    replayed = await replay_dlq(producer, entries, recorder=recorder)  # type: ignore[arg-type]
    assert [e.offset for e in replayed] == [1]
    again = await replay_dlq(producer, entries, recorder=recorder, again=True)  # type: ignore[arg-type]
    assert [e.offset for e in again] == [0, 1]
    assert [value for _, value, _ in producer.sent] == [b"v1", b"v0", b"v1"]
    assert all(topic == "onex.evt.test.orders.v1" for topic, _, _ in producer.sent)


async def test_rate_limit_spaces_publishes_by_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 4 msg/s the k-th publish is scheduled k quarter-seconds after the first."""
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(kafka_dlq.asyncio, "sleep", fake_sleep)
    producer = _Producer()
    await replay_dlq(producer, [_entry(i) for i in range(4)], recorder=None, rate=4)  # type: ignore[arg-type]
    assert len(producer.sent) == 4
    assert len(waits) == 3
    # The fake sleep does not advance the clock, so each wait is measured from the start.
    assert [round(wait, 2) for wait in waits] == [0.25, 0.5, 0.75]


def test_filter_needs_every_given_criterion() -> None:
    """A filter matches only entries meeting all its criteria, never one without a record."""
    entry = _entry(0)
    assert entry.record is not None
    assert ModelKafkaDlqFilter(error_type="TimeoutError").matches(entry)
    assert not ModelKafkaDlqFilter(error_type="TimeoutError", topic="onex.evt.x.y.v1").matches(
        entry
    )
    assert ModelKafkaDlqFilter(correlation_id=entry.record.correlation_id).matches(entry)
    assert not ModelKafkaDlqFilter().matches(entry.model_copy(update={"record": None}))
