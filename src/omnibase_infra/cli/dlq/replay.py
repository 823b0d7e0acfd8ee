"""Replaying dead letters to their original topics, idempotently.

A replay re-publishes the original bytes and headers to the original topic, without the DLQ
record header and with its lineage: ``onex-replay-of`` names the record and
``onex-replay-count`` says which replay of it this is (the correlation id travels in the kept
headers and in the envelope itself), at most ``rate`` messages per second. Each replay is
recorded (``onex_dlq_replays`` in PostgreSQL) in a transaction committed only after the publish
was acknowledged.

A replayed message that fails again is dead-lettered under the same record id with its replay
count (``dlq.build_dlq_message``): the DLQ then holds a newer version of the same dead letter,
not a new original. So a run skips every record replayed before (``again`` replays the newest
version of each, once), and never replays a record that failed ``max_replays`` replays: it is
parked until an operator raises the bound.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Protocol

from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.cli.dlq.model_kafka_dlq_replay_run import ModelKafkaDlqReplayRun
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import (
    HEADER_DLQ_RECORD,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_OF,
)
from omnibase_infra.observability.logging import get_logger

__all__ = [
    "DEFAULT_MAX_REPLAYS",
    "ProtocolReplayPublisher",
    "ProtocolReplayRecorder",
    "PublishStep",
    "replay_dlq",
    "replay_headers",
]

_log = get_logger(__name__)

DEFAULT_MAX_REPLAYS = 3


class PublishStep(Protocol):
    """The publish a recorder wraps in its transaction."""

    async def __call__(self) -> None:
        """Publish the replayed message (raises when the broker did not acknowledge it)."""
        ...


class ProtocolReplayRecorder(Protocol):
    """Where replays are recorded (``DlqReplayStore`` on PostgreSQL)."""

    async def replay_counts(self, record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many times each of ``record_ids`` was replayed (absent: never)."""
        ...

    async def record_replay(
        self, entry: ModelKafkaDlqEntry, record: ModelDlqRecord, publish: PublishStep
    ) -> None:
        """Run ``publish`` and record the replay, committing only if the publish succeeded."""
        ...


class ProtocolReplayPublisher(Protocol):
    """What a replay needs of a producer (``KafkaProducer``)."""

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        """Publish one message; returns once the broker acknowledged it."""
        ...


def replay_headers(
    entry: ModelKafkaDlqEntry, record: ModelDlqRecord, replay: int = 1
) -> dict[str, str]:
    """The original headers, without the DLQ record, carrying the replay's lineage."""
    headers = {k: v for k, v in entry.headers.items() if k != HEADER_DLQ_RECORD}
    headers[HEADER_REPLAY_OF] = str(record.record_id)
    headers[HEADER_REPLAY_COUNT] = str(replay)
    return headers


async def replay_dlq(
    producer: ProtocolReplayPublisher,
    entries: Sequence[ModelKafkaDlqEntry],
    *,
    recorder: ProtocolReplayRecorder | None,
    rate: float | None = None,
    again: bool = False,
    max_replays: int = DEFAULT_MAX_REPLAYS,
) -> ModelKafkaDlqReplayRun:
    """Re-publish ``entries`` (one per record id) to their original topics; what was done.

    Records replayed before are skipped unless ``again``; records whose replays failed
    ``max_replays`` times are skipped always; ``rate`` caps messages per second.
    """
    with_records = [(e, e.record) for e in entries if e.record is not None]
    counts: dict[uuid.UUID, int] = {}
    if recorder is not None:
        counts = await recorder.replay_counts([r.record_id for _, r in with_records])
    interval = 1.0 / rate if rate else 0.0
    next_slot = time.monotonic()
    replayed: list[ModelKafkaDlqEntry] = []
    already = parked = 0
    for entry, record in with_records:
        previous = max(counts.get(record.record_id, 0), record.replay_count)
        if record.replay_count >= max_replays:
            parked += 1
            continue
        if previous and not again:
            already += 1
            continue
        delay = next_slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        next_slot = max(next_slot, time.monotonic()) + interval
        headers = replay_headers(entry, record, previous + 1)

        async def publish(
            entry: ModelKafkaDlqEntry = entry,
            record: ModelDlqRecord = record,
            headers: dict[str, str] = headers,
        ) -> None:
            await producer.publish(record.original_topic, entry.key, entry.value, headers)

        if recorder is None:
            await publish()
        else:
            await recorder.record_replay(entry, record, publish)
        replayed.append(entry)
        _log.info(
            "dead letter replayed",
            dlq_record_id=str(record.record_id),
            topic=record.original_topic,
            replay=previous + 1,
            correlation_id=str(record.correlation_id) if record.correlation_id else None,
        )
    return ModelKafkaDlqReplayRun(
        selected=len(with_records),
        replayed=tuple(replayed),
        already_replayed=already,
        parked=parked,
        max_replays=max_replays,
    )
