"""Reading Kafka DLQ topics and replaying dead letters to their original topics.

Reading never joins a consumer group and never commits: it assigns each partition from its
earliest retained offset to the end as of the start of the read, so listing is side-effect
free. A replay re-publishes the original bytes and headers to the original topic, without the
DLQ record header and with ``onex-replay-of`` naming the record (the correlation id travels in
the kept headers and in the envelope itself), at most ``rate`` messages per second; each replay
is recorded in PostgreSQL (``onex_dlq_replays``) in the same transaction that is committed only
after the publish was acknowledged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pydantic import ValidationError

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import HEADER_DLQ_RECORD, HEADER_REPLAY_OF
from omnibase_infra.event_bus.kafka_consumer import decode_headers
from omnibase_infra.event_bus.kafka_errors import translate_kafka_error
from omnibase_infra.event_bus.kafka_producer import KafkaProducer
from omnibase_infra.event_bus.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.event_bus.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.event_bus.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.topics import dlq_topic_for, parse_topic
from omnibase_infra.observability.logging import get_logger

__all__ = [
    "ProtocolReplayRecorder",
    "dlq_topics",
    "read_dlq",
    "replay_dlq",
    "replay_headers",
]

_log = get_logger(__name__)

_TIMEOUT = 10.0


class ProtocolReplayRecorder(Protocol):
    """Where replays are recorded (``DlqReplayStore`` on PostgreSQL)."""

    async def replayed_ids(self, record_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """The subset of ``record_ids`` already replayed."""
        ...

    async def record_replay(
        self, entry: ModelKafkaDlqEntry, record: ModelDlqRecord, publish: PublishStep
    ) -> None:
        """Run ``publish`` and record the replay, committing only if the publish succeeded."""
        ...


class PublishStep(Protocol):
    """The publish a recorder wraps in its transaction."""

    async def __call__(self) -> None:
        """Publish the replayed message (raises when the broker did not acknowledge it)."""
        ...


def _parse_record(headers: dict[str, str]) -> ModelDlqRecord | None:
    raw = headers.get(HEADER_DLQ_RECORD)
    if raw is None:
        return None
    try:
        return ModelDlqRecord.model_validate_json(raw)
    except ValidationError:
        return None


def _reader(settings: ModelKafkaSettings) -> Consumer:
    # A throwaway group id: the reader only assigns partitions and never commits.
    return Consumer(
        {
            **settings.common_config(),
            "group.id": f"onex-dlq-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )


def dlq_topics(settings: ModelKafkaSettings, original_topic: str | None = None) -> list[str]:
    """The DLQ topics that exist (only ``original_topic``'s when given). Blocking."""
    consumer = _reader(settings)
    try:
        metadata = consumer.list_topics(timeout=_TIMEOUT)
    except KafkaException as exc:
        raise translate_kafka_error(exc, "dlq_list_topics") from exc
    finally:
        consumer.close()
    wanted = dlq_topic_for(original_topic) if original_topic is not None else None
    found: list[str] = []
    for name in metadata.topics:
        try:
            is_dlq = parse_topic(name).kind is EnumTopicKind.DLQ
        except ProtocolConfigurationError:
            continue  # not an ONEX topic
        if is_dlq and (wanted is None or name == wanted):
            found.append(name)
    return sorted(found)


def read_dlq(
    settings: ModelKafkaSettings,
    selection: ModelKafkaDlqFilter,
    *,
    limit: int | None = None,
) -> list[ModelKafkaDlqEntry]:
    """Dead letters matching ``selection``, oldest first per partition. Blocking."""
    entries: list[ModelKafkaDlqEntry] = []
    consumer = _reader(settings)
    try:
        for topic in dlq_topics(settings, selection.topic):
            entries.extend(_read_topic(consumer, topic, selection, limit, len(entries)))
            if limit is not None and len(entries) >= limit:
                break
    except KafkaException as exc:
        raise translate_kafka_error(exc, "dlq_read") from exc
    finally:
        consumer.close()
    return entries[:limit] if limit is not None else entries


def _read_topic(
    consumer: Consumer,
    topic: str,
    selection: ModelKafkaDlqFilter,
    limit: int | None,
    already: int,
) -> list[ModelKafkaDlqEntry]:
    metadata = consumer.list_topics(topic, timeout=_TIMEOUT).topics[topic]
    ends: dict[int, int] = {}
    starts: list[TopicPartition] = []
    for partition in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=_TIMEOUT
        )
        if high > low:
            ends[partition] = high
            starts.append(TopicPartition(topic, partition, low))
    if not starts:
        return []
    consumer.assign(starts)
    found: list[ModelKafkaDlqEntry] = []
    deadline = time.monotonic() + _TIMEOUT
    while ends and time.monotonic() < deadline:
        for message in consumer.consume(500, 0.5):
            if message.error() is not None:
                continue
            partition = message.partition() or 0
            offset = message.offset() or 0
            if partition not in ends or offset >= ends[partition]:
                continue
            if offset + 1 >= ends[partition]:
                del ends[partition]
            headers = decode_headers(message)
            entry = ModelKafkaDlqEntry(
                dlq_topic=topic,
                partition=partition,
                offset=offset,
                record=_parse_record(headers),
                key=message.key(),
                value=message.value() or b"",
                headers=headers,
            )
            if selection.matches(entry):
                found.append(entry)
                if limit is not None and already + len(found) >= limit:
                    consumer.unassign()
                    return found
    consumer.unassign()
    return found


def replay_headers(entry: ModelKafkaDlqEntry, record: ModelDlqRecord) -> dict[str, str]:
    """The original headers, without the DLQ record, marked as a replay of the record."""
    headers = {k: v for k, v in entry.headers.items() if k != HEADER_DLQ_RECORD}
    headers[HEADER_REPLAY_OF] = str(record.record_id)
    return headers


async def replay_dlq(
    producer: KafkaProducer,
    entries: Sequence[ModelKafkaDlqEntry],
    *,
    recorder: ProtocolReplayRecorder | None,
    rate: float | None = None,
    again: bool = False,
) -> list[ModelKafkaDlqEntry]:
    """Re-publish ``entries`` to their original topics; returns those replayed now.

    Records already replayed are skipped unless ``again``; ``rate`` caps messages per second.
    """
    with_records = [(e, e.record) for e in entries if e.record is not None]
    done: set[uuid.UUID] = set()
    if recorder is not None and not again:
        done = await recorder.replayed_ids([r.record_id for _, r in with_records])
    interval = 1.0 / rate if rate else 0.0
    next_slot = time.monotonic()
    replayed: list[ModelKafkaDlqEntry] = []
    for entry, record in with_records:
        if record.record_id in done:
            continue
        delay = next_slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        next_slot = max(next_slot, time.monotonic()) + interval

        async def publish(
            entry: ModelKafkaDlqEntry = entry, record: ModelDlqRecord = record
        ) -> None:
            await producer.publish(
                record.original_topic, entry.key, entry.value, replay_headers(entry, record)
            )

        if recorder is None:
            await publish()
        else:
            await recorder.record_replay(entry, record, publish)
        replayed.append(entry)
        _log.info(
            "dead letter replayed",
            dlq_record_id=str(record.record_id),
            topic=record.original_topic,
            correlation_id=str(record.correlation_id) if record.correlation_id else None,
        )
    return replayed
