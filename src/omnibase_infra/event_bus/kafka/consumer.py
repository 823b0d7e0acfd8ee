"""One member of a Kafka consumer group: fetch a batch, deliver it, commit what succeeded.

- A member subscribes to every topic of its group at once, each topic with its own callback:
  a node reading five topics is one group with one member, not five groups joined one after
  another (a join costs a broker round of several seconds, and every member that joins a
  group makes all the others rejoin).
- Every call into the (not thread-safe) librdkafka consumer runs on the member's own single
  worker thread, so the event loop never blocks and calls never race.
- A batch holds at most ``max_batch`` messages; its partitions are delivered concurrently,
  each through a sliding window of ``in_flight_per_partition`` unfinished messages, in order
  per key (``partition_window``: a callback that finishes without waiting runs in place, no
  task; only a key whose callback waits gets one; 1 delivers each partition strictly in
  order). Headers are decoded only when a callback reads them.
- The next offset of a partition is committed (synchronously, manual commits only) after the
  callbacks of it and of every message before it returned. While messages are ready the
  worker keeps one batch ahead: each hand-over gives the loop the batch fetched ahead (else a
  fresh fetch), then the worker commits the batch delivered before and fetches the next one
  ahead (only what is ready, no wait), so neither round trip is on the delivery path. A revoke
  served by such a fetch waits for the batch out on the loop and commits it (and a delivered
  one still held) before the partitions go, dropping the batch fetched ahead; stopping commits
  the last delivered batch. A member holds at most two batches. A callback that raises or nacks
  gets the message again after a bounded growing delay (holding back the later messages of
  its key). Nothing is committed ahead of a callback: at-least-once. A message the callback
  parks (``BusMessage.park``) holds its partition and is tried again every ``park_seconds``,
  with an alarm; stopping interrupts that pause.
- On assignment, a partition without a committed offset starts at ``auto_offset_reset`` and
  that start is committed at once, so a later rebalance cannot move the group past messages
  it never saw. A group with a commit resumes from it whatever ``auto_offset_reset`` says.
- A member may join before its callbacks exist (``topics`` without ``callbacks``: the runtime
  joins its groups early, while the rest of the start runs): its partitions stay paused, so
  nothing is fetched, delivered or committed past the assignment's start until ``bind`` hands
  it the callbacks and resumes them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from omnibase_infra.errors import InfraTimeoutError, ProtocolConfigurationError
from omnibase_infra.event_bus.base import OffsetReset
from omnibase_infra.event_bus.kafka.delivery import KafkaDelivery, delivering
from omnibase_infra.event_bus.kafka.errors import kafka_context, translate_kafka_error
from omnibase_infra.event_bus.kafka.logging import client_logger
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import (
    MessageCallback,
    decode_raw_headers,
)
from omnibase_infra.event_bus.model_consumer_position import ModelConsumerPosition
from omnibase_infra.observability.logging import get_logger

__all__ = ["KafkaGroupMember", "decode_headers"]

_log = get_logger(__name__)

_POLL_SECONDS = 0.1
# A member joined early (unbound) polls in these slices inside one fetch, so its assignment is
# seen and ``bind`` is taken up within one slice rather than one ``_POLL_SECONDS`` poll (that
# delay is on a Kafka runtime's boot). The slices stay on the worker thread: no event-loop
# round trip per slice.
_UNBOUND_SLICE_SECONDS = 0.01
_METADATA_TIMEOUT = 10.0

T = TypeVar("T")


def decode_headers(message: Message) -> dict[str, str]:
    """A consumed message's headers as the bus's string headers (undecodable bytes replaced)."""
    return decode_raw_headers(message.headers())


class KafkaGroupMember(KafkaDelivery):
    """A consumer of ``callbacks``' topics in group ``group_id`` (see module docstring)."""

    def __init__(
        self,
        settings: ModelKafkaSettings,
        callbacks: Mapping[str, MessageCallback],
        group_id: str,
        auto_offset_reset: OffsetReset,
        *,
        topics: Sequence[str] = (),
    ) -> None:
        """``topics`` without ``callbacks``: join unbound, paused until ``bind``."""
        self._settings = settings
        self.topics = tuple(callbacks) or tuple(topics)
        self.group_id = group_id
        self._callbacks = dict(callbacks)
        # Read and written on the worker thread only (``_on_assign``, ``_bind``, ``_fetch``).
        self._bound = bool(callbacks)
        # Set by ``bind`` (event loop) so an unbound fetch on the worker returns at once.
        self._bind_requested = threading.Event()
        self._consumer: Consumer | None = None
        self._offset_reset: OffsetReset = auto_offset_reset
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"kafka-{group_id[:40]}")
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._joined = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.assigned: list[tuple[str, int]] = []
        # What stopping left behind (the drain report): deliveries begun and given up on (a
        # failing message still being redelivered), and fetched messages left uncommitted
        # (the group's next member gets them again).
        self.cut_short = 0
        self.uncommitted = 0
        self.commit_failures = 0
        # Per (topic, partition): the next offset committed, the next one delivered (a long
        # batch moves before it is committed), the offset after the last one fetched, and the
        # offset of a parked message (read by ``positions`` for stuck detection).
        self._committed: dict[tuple[str, int], int] = {}
        self._delivered: dict[tuple[str, int], int] = {}
        self._fetched: dict[tuple[str, int], int] = {}
        self._parked: dict[tuple[str, int], int] = {}
        # Worker thread only: the delivered batch's offsets held for the commit that follows
        # the next fetch (``_hand_batch``, ``_commit_held``, ``_on_revoke``); the batch out on
        # the loop (its offsets once delivered); the next batch, fetched while it is delivered.
        self._held: list[TopicPartition] = []
        self._out: Future[list[TopicPartition]] | None = None
        self._prefetched: list[Message] = []

    @property
    def topic(self) -> str:
        """The first topic (a member of one topic: its topic), for logs."""
        return self.topics[0]

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run a consumer call on the member's own thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def start(self) -> None:
        """Join the group; returns once this member got its (possibly empty) assignment."""
        self._loop = asyncio.get_running_loop()
        config: dict[str, object] = {
            **self._settings.consumer_config(self.group_id, self._offset_reset),
            "logger": client_logger(logging.getLogger("omnibase_infra.kafka.consumer")),
        }
        try:
            consumer = await self._call(lambda: Consumer(config))
            await self._call(
                lambda: consumer.subscribe(
                    list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
                )
            )
        except KafkaException as exc:
            raise translate_kafka_error(exc, "subscribe", self.group_id) from exc
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(consumer), name=f"kafka:{self.group_id}")
        try:
            await asyncio.wait_for(self._joined.wait(), self._settings.join_timeout_seconds)
        except TimeoutError:
            await self.stop()
            raise InfraTimeoutError(
                f"no partition assignment for group {self.group_id} within "
                f"{self._settings.join_timeout_seconds}s from bootstrap servers "
                f"{self._settings.bootstrap_servers}",
                context=kafka_context("subscribe", self.group_id),
            ) from None
        except BaseException:  # cancelled (a stop signal during start): leave, then go
            await self.stop()
            raise

    @property
    def joined(self) -> bool:
        """Whether the member got its first assignment."""
        return self._joined.is_set()

    async def bind(
        self, callbacks: Mapping[str, MessageCallback], settings: ModelKafkaSettings
    ) -> None:
        """Hand a member that joined unbound its callbacks (one per topic it joined on) and
        its delivery settings, and resume its partitions: deliveries begin."""
        if set(callbacks) != set(self.topics):
            raise ProtocolConfigurationError(
                f"group {self.group_id} joined on {sorted(self.topics)}, not {sorted(callbacks)}",
                field="callbacks",
            )
        self._callbacks = dict(callbacks)
        self._settings = settings
        self._bind_requested.set()  # the worker's unbound fetch returns: ``_bind`` runs next
        consumer = self._consumer
        if consumer is not None:
            await self._call(lambda: self._bind(consumer))

    def _bind(self, consumer: Consumer) -> None:
        self._bound = True
        assigned = consumer.assignment()
        if assigned:
            consumer.resume(assigned)

    # -- rebalance callbacks (run on the worker thread, inside consume) -----------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition at its commit, else at the reset policy, committing that start."""
        positions = consumer.committed(partitions, _METADATA_TIMEOUT) if partitions else []
        fresh: list[TopicPartition] = []
        for tp in positions:
            if tp.offset < 0:
                low, high = consumer.get_watermark_offsets(tp, _METADATA_TIMEOUT)
                tp.offset = low if self._offset_reset == "earliest" else high
                fresh.append(TopicPartition(tp.topic, tp.partition, tp.offset))
        consumer.assign(positions)
        if not self._bound and positions:
            consumer.pause(positions)  # no callbacks yet: fetch nothing until ``bind``
        if fresh:
            consumer.commit(offsets=fresh, asynchronous=False)
        self._committed = {
            (tp.topic, tp.partition): tp.offset for tp in positions if tp.offset >= 0
        }
        self._delivered = {}
        self._fetched = {}
        self.assigned = sorted((tp.topic, tp.partition) for tp in positions)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._joined.set)

    def _on_revoke(self, consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        # Before the partitions go: commit the delivered batch held for commit, then wait for
        # the batch out on the loop (this may be the fetch ahead of it) and commit it too.
        self._commit_held(consumer)
        self._held = self._take_back()
        self._commit_held(consumer)
        self._prefetched = []  # fetched from the partitions going: their next owner reads them
        consumer.unassign()
        self.assigned = []
        self._committed = {}
        self._delivered = {}
        self._fetched = {}

    # -- the delivery loop --------------------------------------------------------------------

    def _take_back(self) -> list[TopicPartition]:
        """The offsets of the batch out on the loop, once it delivered it (waits for that)."""
        out, self._out = self._out, None
        return [] if out is None else out.result()

    def _commit_held(self, consumer: Consumer) -> None:
        """Commit the held offsets, if a rebalance did not commit them already."""
        held, self._held = self._held, []
        if held:
            self._commit_now(consumer, held)

    def _commit_now(self, consumer: Consumer, offsets: list[TopicPartition]) -> None:
        """Commit ``offsets`` synchronously (on the worker); a refusal is counted, not raised."""
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The group moved on (rebalance): the new owner redelivers from the last commit.
            self.commit_failures += 1
            _log.warning("kafka commit failed", consumer_group=self.group_id, error=str(exc))
            return
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset

    def _fetch(self, consumer: Consumer, wait: float) -> list[Message]:
        """Wait up to ``wait`` for one message, then take what else is ready (no batch-fill
        wait)."""
        if not self._bound:
            self._serve_unbound(consumer)
            return []
        first = consumer.poll(wait)
        if first is None:
            return []
        if self._settings.max_batch == 1:
            return [first]
        return [first, *consumer.consume(self._settings.max_batch - 1, 0)]

    def _serve_unbound(self, consumer: Consumer) -> None:
        """Serve the group (its rebalance callbacks) for up to ``_POLL_SECONDS``, in slices,
        until ``bind`` is asked for or the member stops; fetch nothing."""
        deadline = time.monotonic() + _POLL_SECONDS
        while not self._bind_requested.is_set() and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            message = consumer.poll(min(left, _UNBOUND_SLICE_SECONDS))
            if message is not None:
                # Paused partitions fetch nothing; a message fetched in the instant before the
                # pause is put back (the next fetch after ``bind`` starts at it).
                self._rewind(consumer, [message, *consumer.consume(self._settings.max_batch, 0)])

    @staticmethod
    def _rewind(consumer: Consumer, messages: list[Message]) -> None:
        """Seek each partition back to the first of ``messages`` fetched on it."""
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            if message.error() is None:
                place = (message.topic() or "", message.partition() or 0)
                first.setdefault(place, message.offset() or 0)
        for (topic, partition), offset in first.items():
            consumer.seek(TopicPartition(topic, partition, offset))

    async def _run(self, consumer: Consumer) -> None:
        try:
            await self._consume(consumer)
        finally:
            # Leaving the group after the last commit hands the partitions on at once.
            try:
                await self._call(consumer.close)
            except KafkaException as exc:
                _log.warning(
                    "kafka consumer close failed", consumer_group=self.group_id, error=str(exc)
                )
            self._executor.shutdown(wait=False)

    async def _consume(self, consumer: Consumer) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            handed: asyncio.Future[_Batch] = loop.create_future()
            # One hand-over to the worker per batch: it hands a batch over (fetched ahead while
            # the previous one was delivered, when messages were ready), then commits the
            # previous one and fetches ahead, while this one is delivered.
            self._executor.submit(self._hand_batch, consumer, handed)
            try:
                messages, delivered = await handed
            except KafkaException as exc:
                _log.warning("kafka fetch failed", consumer_group=self.group_id, error=str(exc))
                await asyncio.sleep(self._settings.redelivery_max_seconds)
                continue
            handled: list[TopicPartition] = []
            try:
                handled = await self._deliver_batch(messages)
            finally:
                delivered.set_result(handled)  # the worker commits them
        await self._call(partial(self._commit_last, consumer))

    def _hand_batch(self, consumer: Consumer, handed: asyncio.Future[_Batch]) -> None:
        """On the worker: hand the loop a batch (the one fetched ahead, else a fresh fetch),
        commit the batch it delivered before, and fetch the next one ahead while it delivers.

        A fetch holding uncommitted offsets (or fetching ahead) takes only what is ready, so
        no commit waits for messages to arrive.
        """
        loop = handed.get_loop()
        self._held = self._take_back()  # delivered before this call was submitted: no wait
        try:
            messages, self._prefetched = self._prefetched, []
            if not messages:
                messages = self._fetch(consumer, 0.0 if self._held else _POLL_SECONDS)
        except BaseException as exc:
            loop.call_soon_threadsafe(_fail, handed, exc)
            self._commit_held(consumer)
            return
        delivered: Future[list[TopicPartition]] = Future()
        self._out = delivered
        try:
            loop.call_soon_threadsafe(_give, handed, (messages, delivered))
        except RuntimeError:  # the loop is closed: nothing of the batch is delivered
            delivered.set_result([])
        self._commit_held(consumer)
        if messages and not self._stopping:
            self._prefetched = self._fetch(consumer, 0.0)

    def _commit_last(self, consumer: Consumer) -> None:
        """On the worker, once the loop stopped: commit its last batch; a batch fetched ahead
        is left for the group's next member."""
        self._held = self._take_back()
        self._commit_held(consumer)
        self.uncommitted += len(self._prefetched)
        self._prefetched = []

    def positions(self) -> list[ModelConsumerPosition]:
        """Where this member stands on each partition it holds (delivered, fetched, parked)."""
        committed, delivered = dict(self._committed), dict(self._delivered)
        fetched, parked = dict(self._fetched), dict(self._parked)
        positions = []
        for (topic, partition), offset in sorted(committed.items()):
            moved = max(offset, delivered.get((topic, partition), offset))
            positions.append(
                ModelConsumerPosition(
                    topic=topic,
                    group_id=self.group_id,
                    partition=partition,
                    committed=moved,
                    end=max(fetched.get((topic, partition), moved), moved),
                    parked_offset=parked.get((topic, partition)),
                )
            )
        return positions

    # -- leaving ------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Finish the in-flight message, commit what succeeded, leave the group (idempotent).

        Called from inside one of this member's callbacks it only asks the loop to stop: that
        message completes and is committed, then the member leaves.
        """
        self._stopping = True
        self._stop_event.set()
        if delivering.get() is self:
            return
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await task
        except Exception as exc:  # the loop died: it already closed the consumer
            _log.warning("kafka consumer loop failed", consumer_group=self.group_id, error=str(exc))


# A batch handed to the loop, and where the loop puts its delivered offsets.
type _Batch = tuple[list[Message], Future[list[TopicPartition]]]


def _give(handed: asyncio.Future[_Batch], batch: _Batch) -> None:
    if handed.done():  # the loop gave up waiting (cancelled): nothing of it is delivered
        batch[1].set_result([])
    else:
        handed.set_result(batch)


def _fail[R](future: asyncio.Future[R], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
