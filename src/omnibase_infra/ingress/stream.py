"""``GET /v1/events/{topic}/stream``: a topic's events as server-sent events, as they arrive.

Each stream starts at the latest offset or, with ``from_beginning``, at the earliest one the
bus still holds. On Kafka it reads the topic's partitions by assignment, with no consumer group
(``kafka_stream``), so a stream leaves nothing on the brokers; on another bus it is a consumer
group of its own (``onex-tail-<random>``). The reader only puts the message into the stream's
bounded queue (``ingress.stream_queue_events``) and returns, so a stream never holds the bus
back: a client that reads slower than the topic
fills its queue, is sent what was queued and an ``event: dropped`` note, and its stream ends.
At most ``ingress.max_streams`` streams are open at once; closing the ingress ends them all
(``event: end``) so the server can stop.

Frames: ``event: subscribed`` once the group consumes (its ``known`` is false for a topic that
no node of the runtime subscribes or publishes to and that holds no event: likely a misspelt
name, though events may still come), then one ``data:`` frame a message (``ModelStreamEvent`` as
JSON), a ``: keep-alive`` comment after ``KEEPALIVE_SECONDS`` of quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.model_stream_event import stream_event_of
from omnibase_infra.observability.logging import get_logger

__all__ = ["KEEPALIVE_SECONDS", "TopicStream", "TopicStreams"]

_log = get_logger(__name__)
KEEPALIVE_SECONDS = 15.0
GROUP_PREFIX = "onex-tail-"


def _frame(event: str, data: dict[str, str | int | bool]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class TopicStream:
    """One client's stream: a bounded queue the bus fills and the response drains."""

    def __init__(self, topic: str, max_queued: int, *, known: bool = True) -> None:
        self.topic = topic
        self.known = known
        self.group_id = f"{GROUP_PREFIX}{uuid.uuid4().hex}"
        self._queue: asyncio.Queue[BusMessage | None] = asyncio.Queue(max_queued)
        self._max_queued = max_queued
        self.dropped = False
        self.ended: str | None = None

    async def on_message(self, message: BusMessage) -> None:
        """The bus's callback: queue the message, never wait; a full queue drops the stream."""
        self.offer(message)

    def offer(self, message: BusMessage) -> bool:
        """Queue the message, never wait; whether the stream still takes messages (a full
        queue drops it)."""
        if self.dropped or self.ended is not None:
            return False
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            _log.warning(
                "tail stream dropped: its client reads slower than the topic",
                topic=self.topic,
                group_id=self.group_id,
                queued=self._max_queued,
            )
            return False
        return True

    def end(self, reason: str) -> None:
        """End the stream after what is queued (the ingress is closing)."""
        self.ended = reason
        # A full queue: the reader is not waiting, it sees ``ended`` once the queue is drained.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def frames(self) -> AsyncIterator[bytes]:
        """``subscribed``, each queued message, then ``dropped`` or ``end`` when it comes to it."""
        subscribed: dict[str, str | int | bool] = {"topic": self.topic, "known": self.known}
        if self.group_id:  # none when the stream reads by assignment (Kafka)
            subscribed["group_id"] = self.group_id
        yield _frame("subscribed", subscribed)
        while True:
            if self._queue.empty():
                if self.dropped:
                    yield _frame(
                        "dropped",
                        {
                            "reason": f"this client fell {self._max_queued} events behind the "
                            "topic (ingress.stream_queue_events); reconnect to go on"
                        },
                    )
                    return
                if self.ended is not None:
                    yield _frame("end", {"reason": self.ended})
                    return
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    message = await self._queue.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if message is None:
                continue  # end()'s wake-up: the checks above say how it ends
            event = stream_event_of(
                message.topic,
                message.partition,
                message.offset,
                message.timestamp,
                message.key,
                message.value,
                message.headers,
            )
            yield b"data: " + event.model_dump_json().encode() + b"\n\n"


class TopicStreams:
    """The open streams of one ingress, bounded in number."""

    def __init__(
        self,
        bus: EventBusBase,
        *,
        max_streams: int,
        max_queued: int,
        known_topics: frozenset[str] | None = None,
    ) -> None:
        """``known_topics``: what the runtime's nodes subscribe and publish to (None: not
        judged, every stream is ``known``)."""
        self._bus = bus
        self._known_topics = known_topics
        self._max_streams = max_streams
        self._max_queued = max_queued
        self._open: set[TopicStream] = set()
        self._leaving: set[asyncio.Future[None]] = set()
        self._closed = False

    async def open(self, topic: str, *, from_beginning: bool) -> AsyncGenerator[bytes]:
        """Subscribe a new stream to ``topic``; its frames, leaving the bus when they end
        (the client went away, it was dropped, or the ingress closed)."""
        if self._closed:
            raise IngressRequestError(503, "the runtime is stopping")
        if len(self._open) >= self._max_streams:
            raise IngressRequestError(
                503, f"{self._max_streams} streams are open already (ingress.max_streams)"
            )
        stream = TopicStream(topic, self._max_queued)
        self._open.add(stream)
        try:
            unsubscribe = await self._subscribe(stream, from_beginning)
        except RuntimeHostError as exc:
            self._open.discard(stream)
            raise IngressRequestError(503, f"cannot subscribe to {topic}: {exc.message}") from None
        except BaseException:
            self._open.discard(stream)
            raise
        return self._frames(stream, unsubscribe)

    async def _subscribe(self, stream: TopicStream, from_beginning: bool) -> Unsubscribe:
        """Start feeding ``stream`` (by assignment on Kafka, else as a group of its own) and
        judge whether its topic is known; how to stop feeding it."""
        # Here, not at the top: a runtime on another bus never loads the Kafka client for it.
        from omnibase_infra.event_bus.kafka.bus import EventBusKafka
        from omnibase_infra.ingress.kafka_stream import KafkaStreamReader

        topic = stream.topic
        bus = self._bus
        known = self._known_topics is None or topic in self._known_topics
        if isinstance(bus, EventBusKafka):
            stream.group_id = ""
            reader = KafkaStreamReader(
                bus.settings,
                topic,
                from_beginning=from_beginning,
                deliver=stream.offer,
                fail=stream.end,
            )
            holds = await reader.start()
            stream.known = known or holds
            return reader.stop
        unsubscribe = await bus.subscribe(
            topic,
            on_message=stream.on_message,
            group_id=stream.group_id,
            auto_offset_reset="earliest" if from_beginning else "latest",
        )
        # Only the in-memory bus is asked what it holds; another bus's topic counts as known.
        holds = not isinstance(bus, EventBusInmemory) or bus.retained(topic) > 0
        stream.known = known or holds
        return unsubscribe

    async def _frames(self, stream: TopicStream, unsubscribe: Unsubscribe) -> AsyncGenerator[bytes]:
        try:
            async for frame in stream.frames():
                yield frame
        finally:
            self._open.discard(stream)
            # In a task of its own: the response may be cancelled (the client went away), and
            # leaving the group must not be cut short by that.
            leaving = asyncio.ensure_future(unsubscribe())
            self._leaving.add(leaving)
            leaving.add_done_callback(self._leaving.discard)
            await asyncio.shield(leaving)

    def close(self) -> None:
        """Refuse new streams and end the open ones (each leaves the bus as it ends)."""
        self._closed = True
        for stream in list(self._open):
            stream.end("the runtime is stopping")

    async def wait_left(self) -> None:
        """Wait until every ended stream has left its consumer group."""
        while self._leaving:
            await asyncio.gather(*self._leaving, return_exceptions=True)
