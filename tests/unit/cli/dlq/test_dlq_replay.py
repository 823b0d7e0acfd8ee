"""DLQ replay logic without a broker: headers, skipping replayed records, rate-limit schedule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from omnibase_infra.cli.dlq import replay as replay_module
from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import latest_versions
from omnibase_infra.cli.dlq.replay import PublishStep, replay_dlq, replay_headers
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_OF,
)


def _entry(
    offset: int,
    error_type: str = "TimeoutError",
    *,
    record_id: uuid.UUID | None = None,
    replay_count: int = 0,
) -> ModelKafkaDlqEntry:
    now = datetime.now(UTC)
    record = ModelDlqRecord(
        record_id=record_id or uuid.uuid4(),
        original_topic="onex.evt.test.orders.v1",
        consumer_group="g",
        error_type=error_type,
        error_message="failed",
        first_failure_at=now,
        last_failure_at=now,
        correlation_id=uuid.uuid4(),
        replay_count=replay_count,
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
        self.recorded: list[uuid.UUID] = list(done)

    async def replay_counts(self, record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        wanted = set(record_ids)
        counts: dict[uuid.UUID, int] = {}
        for record_id in self.recorded:
            if record_id in wanted:
                counts[record_id] = counts.get(record_id, 0) + 1
        return counts

    async def record_replay(
        self, entry: ModelKafkaDlqEntry, record: ModelDlqRecord, publish: PublishStep
    ) -> None:
        await publish()
        self.recorded.append(record.record_id)


def test_replay_headers_drop_the_record_and_name_it() -> None:
    """A replayed message keeps its correlation id, loses the DLQ record, names the record."""
    entry = _entry(0)
    assert entry.record is not None
    headers = replay_headers(entry, entry.record, 2)
    assert headers[HEADER_CORRELATION_ID] == str(entry.record.correlation_id)
    assert headers[HEADER_REPLAY_OF] == str(entry.record.record_id)
    assert headers[HEADER_REPLAY_COUNT] == "2"
    assert HEADER_DLQ_RECORD not in headers


async def test_replay_skips_replayed_records_unless_again() -> None:
    """Records already replayed are skipped; ``again`` replays them too."""
    entries = [_entry(0), _entry(1)]
    first = entries[0].record
    assert first is not None
    producer = _Producer()
    recorder = _Recorder({first.record_id})
    replayed = await replay_dlq(producer, entries, recorder=recorder)
    assert [e.offset for e in replayed.replayed] == [1]
    assert replayed.summary() == "replayed 1 of 2 dead letter(s): 1 already replayed (use --again)"
    again = await replay_dlq(producer, entries, recorder=recorder, again=True)
    assert [e.offset for e in again.replayed] == [0, 1]
    assert [value for _, value, _ in producer.sent] == [b"v1", b"v0", b"v1"]
    assert [headers[HEADER_REPLAY_COUNT] for _, _, headers in producer.sent] == ["1", "2", "2"]
    assert all(topic == "onex.evt.test.orders.v1" for topic, _, _ in producer.sent)


async def test_rate_limit_spaces_publishes_by_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 4 msg/s the k-th publish is scheduled k quarter-seconds after the first."""
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(replay_module.asyncio, "sleep", fake_sleep)
    # A clock that stands still (the module's own view of time only): the waits are then
    # exact whatever the machine's load, and each is measured from the start.
    monkeypatch.setattr(replay_module, "time", SimpleNamespace(monotonic=lambda: 100.0))
    producer = _Producer()
    await replay_dlq(producer, [_entry(i) for i in range(4)], recorder=None, rate=4)
    assert len(producer.sent) == 4
    assert waits == [0.25, 0.5, 0.75]


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


async def test_a_record_whose_replays_failed_max_replays_times_is_parked() -> None:
    """A dead letter that failed ``max_replays`` replays is never replayed, even with --again,
    and the run says why."""
    tired = _entry(0, replay_count=3)
    fresh = _entry(1, replay_count=1)
    producer = _Producer()
    run = await replay_dlq(producer, [tired, fresh], recorder=_Recorder(set()), again=True)
    assert [e.offset for e in run.replayed] == [1]
    assert run.parked == 1
    assert "1 parked after 3 failed replay(s) (raise --max-replays" in run.summary()
    more = await replay_dlq(producer, [tired], recorder=_Recorder(set()), again=True, max_replays=4)
    assert [e.offset for e in more.replayed] == [0]
    assert producer.sent[-1][2][HEADER_REPLAY_COUNT] == "4"


def test_latest_versions_keep_one_entry_per_record_id() -> None:
    """A record replayed and failed again appears once: its newest version (most replays)."""
    record_id = uuid.uuid4()
    first, newer, other = (
        _entry(0, record_id=record_id),
        _entry(5, record_id=record_id, replay_count=1),
        _entry(1),
    )
    assert [e.offset for e in latest_versions([first, other, newer])] == [5, 1]
    assert [e.offset for e in latest_versions([newer, first])] == [5]
