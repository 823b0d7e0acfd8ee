"""An in-process bus with Kafka's semantics: partitions, consumer groups, committed offsets.

- A topic has ``partitions`` partitions; a key always maps to the same one, so order is kept
  per key. Each (group, partition) is delivered by one task: its ready messages, at most
  ``in_flight_per_partition`` at once, concurrently across keys and one at a time per key
  (``key_order``); ``in_flight_per_partition=1`` delivers the partition strictly in order.
- Members of a consumer group share its partitions; when one leaves, its partitions move on.
- An offset is committed only after the callbacks of it and of every message before it in the
  partition returned; a callback that raises (or nacks) gets the same message again after a
  bounded, growing delay (holding back the later messages of its key).
- A new group starts at ``auto_offset_reset`` (earliest retained or latest); a group that
  rejoins resumes from its committed offset.
- Memory is bounded in messages and in bytes (key, value and headers). Undelivered: ``publish``
  waits while an active group lags ``capacity`` messages, or ``capacity_bytes`` bytes less
  the new message, behind on the partition (backpressure; a group with nothing undelivered
  always takes one message); after ``publish_timeout_seconds`` it raises
  ``InfraUnavailableError`` (retriable): an undelivered message is never dropped, the
  publisher learns that its own was not taken. Consumed history is trimmed, oldest first, to
  ``retention`` messages and ``retention_bytes`` bytes per partition. A value over
  ``max_message_bytes`` is refused, as Kafka refuses it.
- ``publish`` yields to the event loop once every ``PUBLISHES_PER_YIELD`` publishes even when it
  finds room (before taking the message), so consumers on the publisher's loop keep up with
  it instead of falling up to ``capacity`` behind with their data gone cold.
- A message its subscriber parks (``BusMessage.park``: its failure could not be made durable)
  holds the partition and is delivered again only every ``park_seconds``, with an alarm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING
from zlib import crc32

from omnibase_infra._core import EnumConsumerGroupPurpose
from omnibase_infra.errors import (
    InfraUnavailableError,
    MessageTooLargeError,
    ProtocolConfigurationError,
)
from omnibase_infra.event_bus.base import EventBusBase, OffsetReset, Unsubscribe, normalize_headers
from omnibase_infra.event_bus.inmemory_delivery import PartitionDelivery, own_delivery_tasks
from omnibase_infra.event_bus.inmemory_state import Bounds, Group, Member, Record, Signal, Topic
from omnibase_infra.event_bus.message import MessageCallback
from omnibase_infra.event_bus.model_consumer_position import ModelConsumerPosition
from omnibase_infra.event_bus.topics import parse_topic

if TYPE_CHECKING:
    from omnibase_core.types.typed_dict.typed_dict_event_bus_health import (
        TypedDictEventBusHealth,
    )

    from omnibase_infra._core import ProtocolEventBusHeaders, ProtocolNodeIdentity

__all__ = ["PUBLISHES_PER_YIELD", "EventBusInmemory"]

# Publishes between two yields to the event loop (see ``publish``): fewer, and the consumers'
# wake-ups cost more than the warm caches save; many more, and the data goes cold again.
PUBLISHES_PER_YIELD = 256


class EventBusInmemory(EventBusBase):
    """The default bus of the local profile; also the reference for the Kafka bus's tests."""

    def __init__(
        self,
        *,
        partitions: int = 4,
        capacity: int = 1024,
        capacity_bytes: int = 16 * 1024 * 1024,
        retention: int = 10_000,
        retention_bytes: int = 1024 * 1024,
        publish_timeout_seconds: float | None = 30.0,
        in_flight_per_partition: int = 16,
        max_message_bytes: int | None = None,
        park_seconds: float = 30.0,
        environment: str = "local",
        group: str = "default",
    ) -> None:
        if partitions < 1 or capacity < 1 or retention < 0 or in_flight_per_partition < 1:
            raise ProtocolConfigurationError(
                "partitions, capacity and in_flight_per_partition must be >= 1 and retention >= 0",
                field="event_bus",
            )
        if park_seconds <= 0 or (max_message_bytes is not None and max_message_bytes < 1):
            raise ProtocolConfigurationError(
                "park_seconds and max_message_bytes must be > 0", field="event_bus"
            )
        if capacity_bytes < 1 or retention_bytes < 0:
            raise ProtocolConfigurationError(
                "capacity_bytes must be >= 1 and retention_bytes >= 0", field="event_bus"
            )
        if publish_timeout_seconds is not None and publish_timeout_seconds <= 0:
            raise ProtocolConfigurationError(
                "publish_timeout_seconds must be > 0 (or None: wait without end)",
                field="event_bus.publish_timeout_seconds",
            )
        super().__init__(environment=environment, group=group)
        self._partition_count = partitions
        self._in_flight = in_flight_per_partition
        self._capacity = capacity
        self._capacity_bytes = capacity_bytes
        self._bounds = Bounds(capacity, capacity_bytes, retention, retention_bytes)
        self._publish_timeout = publish_timeout_seconds
        self._max_bytes = max_message_bytes
        self._topics: dict[str, Topic] = {}
        self._closed = False
        self._published = 0  # publishes so far, for the periodic yield
        self._progress = Signal()  # fired on every commit, for wait_idle
        self._delivery = PartitionDelivery(park_seconds=park_seconds, progress=self._progress)

    # -- publishing ---------------------------------------------------------------------------

    @property
    def max_message_bytes(self) -> int | None:
        """The largest value ``publish`` accepts (None: no limit)."""
        return self._max_bytes

    async def start(self) -> None:
        """Nothing to connect; reopens a closed bus."""
        self._closed = False

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str] | ProtocolEventBusHeaders | None = None,
    ) -> None:
        """Append to the key's partition, waiting while an active group lags too far behind.

        Raises ``InfraUnavailableError`` when no room came within ``publish_timeout_seconds``.
        """
        # A publish that finds room never suspends, so a publisher in a loop would run up to
        # ``capacity`` messages ahead of the consumers on the same event loop, and they would
        # read each message's data long gone from the CPU caches. Yielding once per
        # PUBLISHES_PER_YIELD publishes lets them take what was just published while it is warm.
        # Before the message is taken: a publish cancelled here has published nothing.
        self._published += 1
        if not self._published % PUBLISHES_PER_YIELD:
            await asyncio.sleep(0)
        if self._closed:
            raise InfraUnavailableError("event bus is closed", operation="publish", topic=topic)
        if self._max_bytes is not None and len(value) > self._max_bytes:
            raise MessageTooLargeError(
                f"message of {len(value)} bytes exceeds the bus limit of {self._max_bytes} bytes",
                operation="publish",
                topic=topic,
            )
        state = self._topics.get(topic) or self._create_topic(topic)
        index = crc32(key) % self._partition_count if key is not None else next(state.round_robin)
        # A dict (the common case) is copied without normalize_headers' call and checks.
        record = Record(
            key, value, headers.copy() if type(headers) is dict else normalize_headers(headers)
        )
        partition = state.partitions[index]
        while not partition.offer(record):
            await self._wait_for_room(state, index, record.size)

    async def _wait_for_room(self, state: Topic, index: int, size: int) -> None:
        """Back-pressure: wait for the groups to consume, at most ``publish_timeout_seconds``."""
        partition = state.partitions[index]

        async def room() -> None:
            while not partition.has_room(size):
                await partition.space.wait()

        try:
            await asyncio.wait_for(room(), self._publish_timeout)
        except TimeoutError:
            raise InfraUnavailableError(
                f"event bus full: partition {index} of {state.name} has had more undelivered "
                f"than event_bus.capacity ({self._capacity} messages) or capacity_bytes "
                f"({self._capacity_bytes} bytes) for {self._publish_timeout} s; "
                "the message was not published",
                operation="publish",
                topic=state.name,
                retriable=True,
            ) from None

    def _create_topic(self, topic: str) -> Topic:
        parse_topic(topic)  # validates the name once per topic
        state = Topic(topic, self._partition_count, self._bounds)
        self._topics[topic] = state
        return state

    @staticmethod
    def _lag(state: Topic, index: int) -> int:
        end = state.partitions[index].end
        lag = 0
        for group in state.groups.values():
            if group.members:
                lag = max(lag, end - group.committed[index])
        return lag

    # -- consuming ----------------------------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        node_identity: ProtocolNodeIdentity | None = None,
        on_message: MessageCallback | None = None,
        *,
        purpose: EnumConsumerGroupPurpose = EnumConsumerGroupPurpose.CONSUME,
        group_id: str | None = None,
        auto_offset_reset: OffsetReset = "latest",
        in_flight_per_partition: int | None = None,
    ) -> Unsubscribe:
        """Join the group on ``topic``; delivery starts at once (see module docstring).

        ``in_flight_per_partition`` (default: the bus's) is set by the group's first member.
        """
        if on_message is None:
            raise ProtocolConfigurationError("subscribe() needs on_message", field="on_message")
        if in_flight_per_partition is not None and in_flight_per_partition < 1:
            raise ProtocolConfigurationError(
                "in_flight_per_partition must be >= 1", field="in_flight_per_partition"
            )
        if self._closed:
            raise InfraUnavailableError("event bus is closed", operation="subscribe", topic=topic)
        gid = self.consumer_group_id(node_identity, purpose, group_id)
        state = self._topics.get(topic) or self._create_topic(topic)
        group = state.groups.get(gid)
        if group is None:
            start = [p.base if auto_offset_reset == "earliest" else p.end for p in state.partitions]
            group = Group(gid, start, in_flight_per_partition or self._in_flight)
            state.groups[gid] = group
        member = Member(on_message)
        group.add_member(member)
        if not group.tasks:
            self._delivery.start(state, group)

        async def unsubscribe() -> None:
            await self._leave(state, group, member)

        return unsubscribe

    async def _leave(self, state: Topic, group: Group, member: Member) -> None:
        """Remove a member after its in-flight messages finished; stop an emptied group.

        Leaving (or closing the bus) from inside a callback is allowed: the caller's own
        in-flight message is not waited for (that would wait for itself); it is committed when
        the callback returns, and its delivery task then stops.
        """
        if member not in group.members:
            return
        group.remove_member(member)
        own = own_delivery_tasks()
        while member.delivering - own:
            await member.settled.wait()
        if not group.members:
            tasks, group.tasks = group.tasks, []
            others = [task for task in tasks if task not in own]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        for partition in state.partitions:
            partition.space.fire()  # a left group no longer holds producers back

    # -- lifecycle and introspection ----------------------------------------------------------

    async def close(self) -> None:
        """Stop every consumer after its in-flight message; further publishes fail."""
        self._closed = True
        for state in self._topics.values():
            for group in state.groups.values():
                for member in list(group.members):
                    await self._leave(state, group, member)

    async def health_check(self) -> TypedDictEventBusHealth:
        """Healthy while open; ``pending_messages`` is the total lag of active groups."""
        pending = sum(
            self._lag(state, index)
            for state in self._topics.values()
            for index in range(self._partition_count)
        )
        return {
            "healthy": not self._closed,
            "connected": not self._closed,
            "pending_messages": pending,
            "status": "closed" if self._closed else "connected",
        }

    def consumer_positions(self) -> list[ModelConsumerPosition]:
        """Every active group's committed offset and end on every partition."""
        return [
            ModelConsumerPosition(
                topic=state.name,
                group_id=group.group_id,
                partition=index,
                committed=group.committed[index],
                end=partition.end,
                parked_offset=self._delivery.parked_offset(state.name, group.group_id, index),
            )
            for state in self._topics.values()
            for group in state.groups.values()
            if group.members
            for index, partition in enumerate(state.partitions)
        ]

    async def get_committed_offset(self, topic: str, group_id: str) -> int | None:
        """Total committed offset of a group over the topic's partitions (None if unknown)."""
        state = self._topics.get(topic)
        group = state.groups.get(group_id) if state else None
        return None if group is None else sum(group.committed)

    def retained(self, topic: str) -> int:
        """How many messages the topic currently holds in memory (for tests of the bound)."""
        state = self._topics.get(topic)
        return 0 if state is None else sum(len(p.log) for p in state.partitions)

    def retained_bytes(self, topic: str | None = None) -> int:
        """How many bytes (keys, values, headers) the topic (None: every topic) holds now."""
        states = self._topics.values() if topic is None else [self._topics.get(topic)]
        return sum(p.retained_bytes for state in states if state for p in state.partitions)

    async def wait_idle(self) -> None:
        """Wait until every active group has consumed everything published so far."""
        while (await self.health_check()).get("pending_messages", 0):
            await self._progress.wait()
