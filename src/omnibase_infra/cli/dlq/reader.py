"""Reading Kafka DLQ topics: list, filter, and the newest version of each dead letter.

Reading never joins a consumer group and never commits (``KafkaAssignedReader``): it assigns
each partition from its earliest retained offset and reads to its end, so listing is
side-effect free. A dead letter replayed and failed again is in the DLQ more than once under
one record id (``dlq.py``, lineage): a read returns only its newest version. Before reading,
the cluster is probed within ``probe_seconds``: no broker reachable fails at once with one
error naming the bootstrap servers, and the client's own log lines stay off the terminal.
(Replaying is ``replay.py``.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pydantic import ValidationError

from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import HEADER_DLQ_RECORD
from omnibase_infra.event_bus.kafka.assigned_reader import ClusterMetadata, KafkaAssignedReader
from omnibase_infra.event_bus.kafka.consumer import decode_headers
from omnibase_infra.event_bus.kafka.errors import translate_kafka_error
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.topics import dlq_topic_for, parse_topic

__all__ = ["DEFAULT_PROBE_SECONDS", "dlq_topics", "latest_versions", "read_dlq"]

_TIMEOUT = 10.0
# A read goes on past a partition's reported end until a fetch this long brings nothing: a
# broker may report an end short of what it holds (Tansu 0.6 counts a produce batch of several
# records as one when answering ListOffsets), and a dead letter must not be missed for it.
_QUIET_SECONDS = 0.5
DEFAULT_PROBE_SECONDS = 5.0


def _parse_record(headers: dict[str, str]) -> ModelDlqRecord | None:
    raw = headers.get(HEADER_DLQ_RECORD)
    if raw is None:
        return None
    try:
        return ModelDlqRecord.model_validate_json(raw)
    except ValidationError:
        return None


def _dlq_topic_names(metadata: ClusterMetadata, original_topic: str | None) -> list[str]:
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


def dlq_topics(
    settings: ModelKafkaSettings,
    original_topic: str | None = None,
    *,
    probe_seconds: float = DEFAULT_PROBE_SECONDS,
) -> list[str]:
    """The DLQ topics that exist (only ``original_topic``'s when given). Blocking."""
    reader = KafkaAssignedReader(settings, purpose="dlq-reader", operation="dlq_read")
    try:
        return _dlq_topic_names(reader.probe(probe_seconds), original_topic)
    finally:
        reader.close()


def read_dlq(
    settings: ModelKafkaSettings,
    selection: ModelKafkaDlqFilter,
    *,
    limit: int | None = None,
    probe_seconds: float = DEFAULT_PROBE_SECONDS,
) -> list[ModelKafkaDlqEntry]:
    """The newest version of each dead letter matching ``selection``, oldest first. Blocking.

    ``limit`` bounds the distinct dead letters read (a version past it is not looked for).
    """
    entries: list[ModelKafkaDlqEntry] = []
    reader = KafkaAssignedReader(settings, purpose="dlq-reader", operation="dlq_read")
    try:
        topics = _dlq_topic_names(reader.probe(probe_seconds), selection.topic)
        for topic in topics:
            entries = latest_versions(
                [*entries, *_read_topic(reader.consumer, topic, selection, limit, len(entries))]
            )
            if limit is not None and len(entries) >= limit:
                break
    except KafkaException as exc:
        raise translate_kafka_error(exc, "dlq_read") from exc
    finally:
        reader.close()
    return entries[:limit] if limit is not None else entries


def latest_versions(entries: Iterable[ModelKafkaDlqEntry]) -> list[ModelKafkaDlqEntry]:
    """One entry per record id, the newest version (most replays, then latest failure), in
    the order each record id first appeared; entries without a record are kept as they are."""
    newest: dict[uuid.UUID | int, ModelKafkaDlqEntry] = {}
    for index, entry in enumerate(entries):
        record = entry.record
        key: uuid.UUID | int = index if record is None else record.record_id
        held = newest.get(key)
        if held is None or (
            held.record is not None and record is not None and _newer(record, held.record)
        ):
            newest[key] = entry
    return list(newest.values())


def _newer(candidate: ModelDlqRecord, held: ModelDlqRecord) -> bool:
    return (candidate.replay_count, candidate.last_failure_at) >= (
        held.replay_count,
        held.last_failure_at,
    )


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
    while time.monotonic() < deadline:
        messages = consumer.consume(500, _QUIET_SECONDS)
        if not messages and not ends:
            break  # past every partition's reported end, and nothing more arrives
        for message in messages:
            if message.error() is not None:
                continue
            partition = message.partition() or 0
            offset = message.offset() or 0
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
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
