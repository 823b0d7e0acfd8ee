"""The figures of a chaos run: what was sent, and where every node ended.

Definitions (per fleet, over the node ids the fleet sent; other nodes are ignored):

``sent``
    nodes whose introspection the bus acknowledged.
``registered``
    sent nodes that are ``active`` in PostgreSQL (``onex_registrations``) *and* have a
    passing instance in discovery (the handshake finished and both backends hold the node).
``dead_lettered``
    sent nodes that are not registered and whose registration work is on a DLQ topic: their
    introspection or their ack (messages are keyed by node id). That work is accounted for
    there, for an operator to replay. A dead-lettered heartbeat does not count: it carries no
    registration, so a node rejected or dropped with only its heartbeats in the DLQ is lost.
``lost``
    ``sent - registered - dead_lettered``: accepted work that ended nowhere. Must be 0.
``rejected``
    sent nodes the registry answered with registration-rejected (final) at any time, even if
    they registered later (a node asked to introspect again may heal). A rejection is only
    for input that can never succeed, so no fault of a dependency may cause one.
``duplicated``
    sent nodes with a side effect made twice where one is expected: more than one history row
    (``onex_registration_history``) of the acceptance (``registered`` or
    ``registered_after_early_ack``) or of the ``acked`` transition, more than one discovery
    instance carrying the node's id (``onex_node_id`` meta), or the same message (envelope id)
    dead-lettered more than once. Retries and redeliveries of one message are idempotent by
    design (history rows are keyed by the causing envelope), so none of these may happen.
    Must be 0.
``recovery_seconds``
    from the moment the fault ended (dependency back, broker resumed, runtime restarted) to
    ``/ready`` answering 200; measured and printed, never asserted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple
from uuid import UUID, uuid4

import asyncpg
from pydantic import BaseModel, ConfigDict

from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import read_dlq
from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.dlq import read_dlq_record
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACKED,
    TOPIC_NODE_INTROSPECTION,
)

__all__ = [
    "REGISTRATION_TOPICS",
    "DeadLetter",
    "ModelChaosFigures",
    "TopicWatcher",
    "count_figures",
    "kafka_dead_letters",
]

# The topics whose dead letters hold a node's unfinished registration work.
REGISTRATION_TOPICS = (TOPIC_NODE_INTROSPECTION, TOPIC_NODE_ACKED)
# Transitions a node goes through exactly once per registration.
_ONCE = ("registered", "registered_after_early_ack", "acked")


class DeadLetter(NamedTuple):
    """One dead-lettered message: its DLQ topic, its key (a node id) and its envelope id."""

    topic: str
    key: bytes | None
    envelope_id: str | None


class ModelChaosFigures(BaseModel):
    """The figures of one run (see the module docstring for each definition)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sent: int
    registered: int
    dead_lettered: int
    lost: int
    duplicated: int
    rejected: int = 0
    recovery_seconds: float | None = None

    def line(self, name: str) -> str:
        """The one line a chaos test prints."""
        recovery = "n/a" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f}"
        return (
            f"CHAOS {name}: sent={self.sent} registered={self.registered} "
            f"dead_lettered={self.dead_lettered} lost={self.lost} "
            f"duplicated={self.duplicated} rejected={self.rejected} "
            f"recovery_seconds={recovery}"
        )


async def kafka_dead_letters(
    settings: ModelKafkaSettings, topics: Iterable[str] = REGISTRATION_TOPICS
) -> list[DeadLetter]:
    """Every dead letter of ``topics`` on the Kafka cluster (read without joining a group)."""
    found: list[DeadLetter] = []
    for topic in topics:
        entries = await asyncio.to_thread(read_dlq, settings, ModelKafkaDlqFilter(topic=topic))
        for entry in entries:
            envelope = None if entry.record is None else entry.record.envelope_id
            found.append(
                DeadLetter(entry.dlq_topic, entry.key, None if envelope is None else str(envelope))
            )
    return found


class TopicWatcher:
    """Keeps every message of ``topics`` on any bus from the earliest retained (one consumer
    group per topic): the rejections a registry published, or the dead letters of an
    in-memory bus."""

    def __init__(self, bus: EventBusBase, topics: Iterable[str]) -> None:
        self._bus = bus
        self._topics = tuple(topics)
        self.messages: list[BusMessage] = []
        self._unsubscribe: list[Unsubscribe] = []

    async def start(self) -> None:
        """Subscribe to every topic."""
        suffix = uuid4().hex[:8]
        for topic in self._topics:
            self._unsubscribe.append(
                await self._bus.subscribe(
                    topic,
                    on_message=self._keep,
                    group_id=f"chaos-watch-{suffix}.{topic}",
                    auto_offset_reset="earliest",
                )
            )

    async def stop(self) -> None:
        """Leave the topics."""
        for unsubscribe in self._unsubscribe:
            await unsubscribe()
        self._unsubscribe.clear()

    @property
    def keys(self) -> list[bytes | None]:
        """The key of every message kept (a node id for registration topics)."""
        return [message.key for message in self.messages]

    @property
    def dead_letters(self) -> list[DeadLetter]:
        """The messages kept, read as dead letters (for DLQ topics)."""
        found = []
        for message in self.messages:
            record = read_dlq_record(message)
            envelope = None if record is None else record.envelope_id
            found.append(
                DeadLetter(message.topic, message.key, None if envelope is None else str(envelope))
            )
        return found

    async def _keep(self, message: BusMessage) -> None:
        self.messages.append(message)


async def count_figures(
    node_ids: Sequence[UUID],
    *,
    postgres_dsn: str,
    discovery: ProtocolServiceDiscovery,
    service_name: str,
    dead_letters: Sequence[DeadLetter],
    rejections: Sequence[bytes | None] = (),
    recovery_seconds: float | None = None,
) -> ModelChaosFigures:
    """Count where the nodes ``node_ids`` (the sent ones) ended (see module docstring)."""
    wanted = set(node_ids)
    connection = await asyncpg.connect(postgres_dsn)
    try:
        active_rows = await connection.fetch(
            "SELECT node_id FROM onex_registrations WHERE node_id = ANY($1::uuid[]) "
            "AND state = 'active'",
            list(wanted),
        )
        once_rows = await connection.fetch(
            "SELECT node_id, transition, count(*) AS rows FROM onex_registration_history "
            "WHERE node_id = ANY($1::uuid[]) AND transition = ANY($2::text[]) "
            "GROUP BY node_id, transition",
            list(wanted),
            list(_ONCE),
        )
    finally:
        await connection.close()
    instances = (await discovery.healthy_instances(service_name)).instances
    in_discovery: Counter[UUID] = Counter()
    for instance in instances:
        node = _uuid(instance.meta.get("onex_node_id", instance.service_id))
        if node in wanted:
            in_discovery[node] += 1
    registered = {row["node_id"] for row in active_rows} & set(in_discovery)
    dead_nodes: set[UUID] = set()
    dead_twice: set[UUID] = set()
    seen: Counter[tuple[str, str]] = Counter()
    for dead in dead_letters:
        node = _uuid(dead.key.decode(errors="replace")) if dead.key else None
        if node not in wanted or node is None:
            continue
        dead_nodes.add(node)
        if dead.envelope_id is not None:
            seen[(dead.topic, dead.envelope_id)] += 1
            if seen[(dead.topic, dead.envelope_id)] > 1:
                dead_twice.add(node)
    duplicated = (
        {row["node_id"] for row in once_rows if row["rows"] > 1}
        | {node for node, count in in_discovery.items() if count > 1}
        | dead_twice
    )
    dead_lettered = dead_nodes - registered
    rejected = {_uuid(key.decode(errors="replace")) for key in rejections if key} & wanted
    return ModelChaosFigures(
        sent=len(wanted),
        registered=len(registered),
        dead_lettered=len(dead_lettered),
        lost=len(wanted) - len(registered) - len(dead_lettered),
        duplicated=len(duplicated),
        rejected=len(rejected),
        recovery_seconds=recovery_seconds,
    )


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
