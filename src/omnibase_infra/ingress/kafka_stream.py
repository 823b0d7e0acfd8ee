"""A tail stream's reader on a Kafka bus: the topic's partitions assigned, no consumer group.

A stream only watches: it needs no group's rebalances, offsets or membership, and a group of
its own would stay listed on the brokers after the stream ended (and after a killed ingress).
So the reader is ``KafkaAssignedReader``: it assigns every partition of the topic at its end
(``from_beginning``: its earliest offset), never commits, and leaves nothing on the cluster.

The client blocks, so each reader runs in a thread of its own (as many as open streams, which
``ingress.max_streams`` bounds). The thread hands each record to the event loop with
``call_soon_threadsafe``; the stream's bounded queue decides, as for any bus, whether the
client keeps up. A topic that does not exist yet is waited for, and read from its beginning once
it does (all of it came after the stream opened).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.event_bus.kafka.assigned_reader import KafkaAssignedReader
from omnibase_infra.event_bus.kafka.errors import translate_kafka_error
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.logging import get_logger

__all__ = ["KafkaStreamReader"]

_log = get_logger(__name__)
_PROBE_SECONDS = 5.0
_METADATA_SECONDS = 10.0
_POLL_SECONDS = 0.5
_BATCH = 100


class KafkaStreamReader:
    """Reads one topic for one stream, in a thread of its own, until ``stop``."""

    def __init__(
        self,
        settings: ModelKafkaSettings,
        topic: str,
        *,
        from_beginning: bool,
        deliver: Callable[[BusMessage], bool],
        fail: Callable[[str], None],
    ) -> None:
        """``deliver`` runs on the event loop for each record; False stops the reading (the
        stream was dropped or ended). ``fail(reason)`` runs there when the client fails."""
        self._settings = settings
        self._topic = topic
        self._from_beginning = from_beginning
        self._deliver = deliver
        self._fail = fail
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> bool:
        """Assign the topic's partitions; whether the topic holds any event now. Raises
        ``RuntimeHostError`` when no broker answers or the client fails."""
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[bool] = loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(loop, opened), name=f"tail-{self._topic}", daemon=True
        )
        self._thread.start()
        try:
            return await asyncio.shield(opened)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop reading and close the client (waits for the thread, off the event loop)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)

    def _run(self, loop: asyncio.AbstractEventLoop, opened: asyncio.Future[bool]) -> None:
        reader: KafkaAssignedReader | None = None
        try:
            reader = KafkaAssignedReader(self._settings, purpose="tail", operation="tail")
            reader.probe(_PROBE_SECONDS)
            holds = self._assign(reader)
        except (KafkaException, RuntimeHostError) as exc:
            error = exc if isinstance(exc, RuntimeHostError) else translate_kafka_error(exc, "tail")
            loop.call_soon_threadsafe(_settle, opened, None, error)
            if reader is not None:
                reader.close()
            return
        loop.call_soon_threadsafe(_settle, opened, holds, None)
        try:
            self._read(reader, loop)
        except KafkaException as exc:
            reason = translate_kafka_error(exc, "tail").message
            _log.warning("tail stream reader failed", topic=self._topic, error=reason)
            loop.call_soon_threadsafe(self._fail, f"reading {self._topic} failed: {reason}")
        finally:
            reader.close()

    def _assign(self, reader: KafkaAssignedReader) -> bool:
        """Assign each partition at its end (or its beginning); whether any holds an event.
        A topic that does not exist yet is assigned once it does, from its beginning."""
        consumer = reader.consumer
        partitions = self._partitions(reader)
        if partitions is None:
            return False
        starts: list[TopicPartition] = []
        holds = False
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(self._topic, partition), timeout=_METADATA_SECONDS
            )
            holds = holds or high > low
            # The end as it is now, not OFFSET_END: that is resolved at the first fetch, and an
            # event sent meanwhile would be missed.
            start = OFFSET_BEGINNING if self._from_beginning else high
            starts.append(TopicPartition(self._topic, partition, start))
        consumer.assign(starts)
        return holds

    def _partitions(self, reader: KafkaAssignedReader) -> list[int] | None:
        """The topic's partitions, or None when it does not exist (yet)."""
        metadata = reader.consumer.list_topics(self._topic, timeout=_METADATA_SECONDS)
        found = metadata.topics.get(self._topic)
        error = None if found is None else found.error
        if found is not None and found.partitions and error is None:
            return sorted(found.partitions)
        if error is not None and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise KafkaException(error)
        return None

    def _read(self, reader: KafkaAssignedReader, loop: asyncio.AbstractEventLoop) -> None:
        """Hand each record to the loop until stopped (waiting for the topic first if it did
        not exist)."""
        consumer = reader.consumer
        while not consumer.assignment():
            if self._stopping.wait(_POLL_SECONDS):
                return
            partitions = self._partitions(reader)
            if partitions is not None:
                consumer.assign(
                    [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in partitions]
                )
        while not self._stopping.is_set():
            for message in consumer.consume(_BATCH, _POLL_SECONDS):
                error = message.error()
                if error is not None:
                    if error.fatal():
                        raise KafkaException(error)
                    continue
                loop.call_soon_threadsafe(self._hand_over, _bus_message(message))

    def _hand_over(self, message: BusMessage) -> None:
        if not self._deliver(message):
            self._stopping.set()


def _bus_message(message: Message) -> BusMessage:
    """A consumed record as the bus hands it to subscribers (headers decoded when read)."""
    _, millis = message.timestamp()
    return BusMessage(
        message.topic() or "",
        message.key(),
        message.value() or b"",
        None,
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=millis / 1000 if millis > 0 else 0.0,
        header_source=message,
    )


def _settle(future: asyncio.Future[bool], holds: bool | None, error: BaseException | None) -> None:
    """Resolve ``future`` on the loop, unless it was cancelled meanwhile."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(bool(holds))
