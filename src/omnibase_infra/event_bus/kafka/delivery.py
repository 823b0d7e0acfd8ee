"""How a Kafka group member delivers a fetched partition: in a window, in order per key.

``KafkaDelivery`` is the delivering half of ``KafkaGroupMember`` (``consumer.py``, which
fetches, commits and leaves): each partition of a batch goes through a sliding window of
``in_flight_per_partition`` unfinished messages (``partition_window``: a callback that finishes
without waiting runs in place, no task; only a key whose callback waits gets one). A callback
that raises or nacks gets its message again after a bounded growing delay, holding back its
key's later messages; a parked message is tried again every ``park_seconds`` with an alarm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import partial
from types import CoroutineType

from confluent_kafka import KafkaError, Message, TopicPartition

from omnibase_infra.correlation import enter_correlation_id
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import (
    BusMessage,
    MessageCallback,
    deliver_once,
    redelivery_delay,
    report_parked,
    report_raised,
)
from omnibase_infra.event_bus.partition_window import Begin, Resumed, deliver_in_window
from omnibase_infra.observability.logging import get_logger

__all__ = ["KafkaDelivery", "delivering"]

_log = get_logger(__name__)

# The member whose callback is running in this context: lets ``stop`` called from inside a
# callback (a subscriber leaving, or closing the bus) return instead of awaiting itself.
delivering: ContextVar[KafkaDelivery | None] = ContextVar("kafka_delivering", default=None)


class KafkaDelivery:
    """The delivery of fetched partitions (see module docstring); state is the member's."""

    _settings: ModelKafkaSettings
    _callbacks: dict[str, MessageCallback]
    group_id: str
    _stopping: bool
    _stop_event: asyncio.Event
    cut_short: int
    uncommitted: int
    _delivered: dict[tuple[str, int], int]
    _fetched: dict[tuple[str, int], int]
    _parked: dict[tuple[str, int], int]

    async def _deliver_batch(self, messages: list[Message]) -> list[TopicPartition]:
        """Deliver a fetched batch, its partitions concurrently; the offsets to commit."""
        by_partition: dict[tuple[str, int], list[Message]] = {}
        # A fetch comes in runs of one partition: the partition's list is looked up only
        # when the run changes, not per message.
        run: list[Message] = []
        run_topic: str | None = None
        run_partition: int | None = None
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    _log.warning(
                        "kafka consume error", consumer_group=self.group_id, error=error.str()
                    )
                continue
            topic = message.topic()
            partition = message.partition()
            if partition != run_partition or topic != run_topic:
                run_topic, run_partition = topic, partition
                run = by_partition.setdefault((topic or "", partition or 0), [])
            run.append(message)
        if not by_partition:
            return []
        for place, batch in by_partition.items():
            self._fetched[place] = (batch[-1].offset() or 0) + 1
        if len(by_partition) == 1:
            ((place, batch),) = by_partition.items()
            done = [await self._deliver_partition(place, batch)]
            places = [place]
        else:
            places = list(by_partition)
            done = await asyncio.gather(
                *(self._deliver_partition(p, by_partition[p]) for p in places)
            )
        return [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in zip(places, done, strict=True)
            if offset is not None
        ]

    async def _deliver_partition(
        self, place: tuple[str, int], messages: list[Message]
    ) -> int | None:
        """Deliver one partition's messages in order per key; the offset to commit (or None)."""
        # One scope for the whole batch: every callback of this partition runs inside it.
        token = delivering.set(self)
        try:
            delivered = await deliver_in_window(
                messages,
                _message_key,
                self._beginner(place),
                self._settings.in_flight_per_partition,
                partial(self._progress, place, messages),
            )
        finally:
            delivering.reset(token)
            # A callback run in place may leave its message's correlation id set (the dispatch
            # engine does, to save a context-variable write per message): cleared per batch.
            enter_correlation_id(None)
        if delivered < len(messages):
            self.uncommitted += len(messages) - delivered
        if not delivered:
            return None
        next_offset = (messages[delivered - 1].offset() or 0) + 1
        self._delivered[place] = next_offset
        return next_offset

    def _progress(self, place: tuple[str, int], messages: list[Message], prefix: int) -> None:
        """A long delivery's progress: the partition moved past its delivered prefix."""
        if prefix:
            self._delivered[place] = (messages[prefix - 1].offset() or 0) + 1

    def _beginner(self, place: tuple[str, int]) -> Callable[[Message], Begin]:
        """The ``begin`` of one partition's batch (see ``partition_window``).

        It delivers a message as far as its callback goes without waiting: True when the
        callback took it in place; False when the member is stopping; else the rest of the
        delivery (it waited, or refused and gets the message again). A closure over the
        partition's state: this runs once per message, so no lookup by partition in it.
        """
        topic, partition = place
        callback = self._callbacks[topic]
        # The furthest offset begun in this batch: at stop, a message below it (queued behind
        # its key) is still delivered.
        begun = -1

        def begin(raw: Message) -> Begin:
            nonlocal begun
            offset = raw.offset() or 0
            if offset > begun:
                # Stopping, a message is not begun, unless a later one of this batch already
                # was (it waited behind its key): leaving it would leave that later one,
                # handled, uncommitted.
                if self._stopping:
                    return False
                begun = offset
            # Built here, not by ``_bus_message`` (the redelivery path's): a call less per message.
            message = BusMessage(
                topic,
                raw.key(),
                raw.value() or b"",
                None,
                partition,
                offset,
                raw.timestamp()[1] / 1000,
                raw,
            )
            awaitable = callback(message)
            if type(awaitable) is not CoroutineType:
                return self._finish(raw, place, message, awaitable)
            # Run in place, in the delivering task's context, as a chain of one key always
            # was: the callbacks of a partition share it (the correlation id is cleared per
            # batch).
            try:
                pending = awaitable.send(None)
            except StopIteration:
                if not message.nacked:
                    return True
                return self._redeliver_refused(raw, place, message)
            except Exception as exc:
                report_raised(message, exc, group_id=self.group_id)
                return self._redeliver_refused(raw, place, message)
            return self._finish(raw, place, message, Resumed(awaitable, pending))

        return begin

    async def _finish(
        self,
        raw: Message,
        place: tuple[str, int],
        message: BusMessage,
        rest: Awaitable[object],
    ) -> bool:
        """Await the rest of a callback that waited; True once the message was taken."""
        try:
            await rest
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report_raised(message, exc, group_id=self.group_id)
        else:
            if not message.nacked:
                return True
        return await self._redeliver_refused(raw, place, message)

    async def _redeliver_refused(
        self, raw: Message, place: tuple[str, int], refused: BusMessage
    ) -> bool:
        """Deliver a refused message again until it is taken; False if the member stops."""
        if await self._redeliver(raw, place, refused.offset, refused):
            return True
        self.cut_short += 1
        return False

    async def _attempt(
        self, raw: Message, place: tuple[str, int], offset: int
    ) -> BusMessage | None:
        """One delivery of ``raw`` with fresh headers (a callback may change its copy).

        None when the callback took it; else the refused message (it may be parked).
        """
        message = _bus_message(raw, place, offset)
        taken = await deliver_once(self._callbacks[place[0]], message, group_id=self.group_id)
        return None if taken else message

    async def _redeliver(
        self, raw: Message, place: tuple[str, int], offset: int, refused: BusMessage
    ) -> bool:
        """Deliver a message that failed once until it succeeds; False if the member stopped."""
        failures = 1
        while not self._stopping:
            if refused.parked:
                if self._parked.get(place) != offset:
                    self._parked[place] = offset
                    report_parked(
                        refused, group_id=self.group_id, pause_seconds=self._settings.park_seconds
                    )
                delay = self._settings.park_seconds
            else:
                delay = redelivery_delay(
                    failures,
                    self._settings.redelivery_base_seconds,
                    self._settings.redelivery_max_seconds,
                )
            if await self._pause(delay):
                break
            again = await self._attempt(raw, place, offset)
            if again is None:
                if self._parked.pop(place, None) is not None:
                    _log.warning(
                        "partition resumed",
                        topic=place[0],
                        consumer_group=self.group_id,
                        partition=place[1],
                    )
                return True
            refused = again
            failures += 1
        return False

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` before a redelivery; True when the member is stopping meanwhile."""
        try:
            await asyncio.wait_for(self._stop_event.wait(), seconds)
        except TimeoutError:
            return self._stopping
        return True


def _bus_message(raw: Message, place: tuple[str, int], offset: int) -> BusMessage:
    """A fresh ``BusMessage`` of ``raw`` at ``place`` (its headers decoded on first read)."""
    return BusMessage(
        place[0],
        raw.key(),
        raw.value() or b"",
        None,
        place[1],
        offset,
        raw.timestamp()[1] / 1000,
        raw,
    )


def _message_key(message: Message) -> bytes | None:
    key = message.key()
    return key if isinstance(key, bytes) or key is None else key.encode()
