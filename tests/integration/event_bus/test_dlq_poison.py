"""Poison messages on both buses: too large to dead-letter whole, or no DLQ to write to at all.

A message whose dead letter would exceed the bus's size limit is dead-lettered by reference
(bounded prefix, headers, original position, size and digest) and the partition moves on; a
message whose dead letter cannot be written at all is parked (held, alarmed, tried again after
a pause), never redelivered in a loop, and dead-lettered once the DLQ is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch import (
    DeadLetterPolicy,
    DispatchContext,
    MessageDispatchEngine,
    ModelNodeOutput,
)
from omnibase_infra.dispatch.engine import make_route
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.dlq import DLQ_VALUE_PREFIX_BYTES, read_dlq_record
from omnibase_infra.event_bus.dlq_writer import DeadLetterWriter
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.testing import TopicFactory, eventually

# The bus refuses messages over this many bytes; the engine refuses values over 2 KiB.
BUS_LIMIT = 8192
ENGINE_LIMIT = 2048
PARK_SECONDS = 0.05


class _Order(BaseModel):
    order_id: str
    quantity: int


@dataclass
class _Recorder:
    handled: list[str] = field(default_factory=list)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        assert isinstance(context.payload, _Order)
        self.handled.append(context.payload.order_id)
        return None


@pytest_asyncio.fixture(params=["inmemory", pytest.param("kafka", marks=pytest.mark.integration)])
async def small_bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBusBase]:
    """Each bus in turn with an 8 KiB message limit and a short park pause."""
    bus: EventBusBase
    if request.param == "kafka":
        settings: ModelKafkaSettings = request.getfixturevalue("kafka_settings")
        bus = EventBusKafka(
            settings.model_copy(
                update={"message_max_bytes": BUS_LIMIT, "park_seconds": PARK_SECONDS}
            )
        )
    else:
        bus = EventBusInmemory(max_message_bytes=BUS_LIMIT, park_seconds=PARK_SECONDS)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


def _envelope(payload: dict[str, object]) -> bytes:
    envelope = JsonEnvelope(payload=payload, payload_type="_Order", correlation_id=uuid.uuid4())
    return envelope.model_dump_json(exclude_none=True).encode()


async def _watch(bus: EventBusBase, topic: str) -> list[BusMessage]:
    seen: list[BusMessage] = []

    async def on_message(message: BusMessage) -> None:
        seen.append(message)

    await bus.subscribe(
        topic, on_message=on_message, group_id="watch", auto_offset_reset="earliest"
    )
    return seen


def _engine(
    bus: EventBusBase, topic: str, recorder: _Recorder, **kwargs: object
) -> MessageDispatchEngine:
    engine = MessageDispatchEngine(
        bus,
        max_message_bytes=ENGINE_LIMIT,
        auto_offset_reset="earliest",
        **kwargs,  # type: ignore[arg-type]
    )
    engine.add_route(
        make_route(
            node_name="orders",
            archetype=EnumNodeKind.EFFECT,
            topic=topic,
            handler=recorder,
            payload_type="_Order",
            input_model=_Order,
        )
    )
    return engine


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_message_too_large_to_dead_letter_whole_is_dead_lettered_by_reference(
    small_bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A value under the bus limit but whose dead letter is not gets a reference record (prefix,
    size, digest, position, headers) and the good message after it on its key is handled."""
    topic = unique_topic()
    recorder = _Recorder()
    dead = await _watch(small_bus, dlq_topic_for(topic))
    engine = _engine(small_bus, topic, recorder, failure_policy=RetryFailurePolicy(small_bus))
    await engine.start()
    before = _sample("onex_dlq_messages_total", {"topic": topic, "form": "reference"})
    poison = b'{"not an envelope": "' + b"p" * (BUS_LIMIT - 1500) + b'"}'
    await small_bus.publish(topic, b"same-key", poison, {"trace-note": "kept"})
    await small_bus.publish(topic, b"same-key", _envelope({"order_id": "good", "quantity": 1}))
    try:
        await eventually(lambda: dead and recorder.handled)
    finally:
        await engine.stop()
    (letter,) = dead
    record = read_dlq_record(letter)
    assert record is not None
    assert record.value_truncated
    assert record.value_bytes == len(poison)
    assert record.value_sha256 == hashlib.sha256(poison).hexdigest()
    assert (record.original_topic, record.offset) == (topic, 0)
    assert "exceeds the limit" in record.error_message
    assert letter.value == poison[:DLQ_VALUE_PREFIX_BYTES]
    assert letter.headers["trace-note"] == "kept"
    assert recorder.handled == ["good"]
    assert engine.outcomes[EnumDispatchOutcome.DLQ] == 1
    after = _sample("onex_dlq_messages_total", {"topic": topic, "form": "reference"})
    assert after == before + 1


async def test_unwritable_dead_letter_parks_the_partition_then_recovers(
    small_bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """With the DLQ down, a failing message is parked (offset held, alarm counted) instead of
    redelivered in a loop; once the DLQ is back it is dead-lettered and its partition moves."""
    topic = unique_topic()
    recorder = _Recorder()
    dlq = EventBusInmemory()
    await dlq.close()  # the DLQ refuses every write
    writer = DeadLetterWriter(dlq, attempts=2, retry_delay_seconds=0.001)
    engine = _engine(small_bus, topic, recorder, failure_policy=DeadLetterPolicy(dlq, writer))
    group = engine.group_id_for("orders")
    await engine.start()
    parked_before = _sample(
        "onex_event_bus_parked_messages_total", {"topic": topic, "consumer_group": group}
    )
    failures_before = _sample("onex_dlq_write_failures_total", {"topic": topic})
    await small_bus.publish(topic, b"k", b"\x00 not json")
    await small_bus.publish(topic, b"k", _envelope({"order_id": "after", "quantity": 1}))
    try:
        await eventually(lambda: engine.outcomes[EnumDispatchOutcome.PARKED] >= 2)
        held = [p for p in small_bus.consumer_positions() if p.group_id == group and p.lag]
        assert [p.parked_offset for p in held] == [0]
        assert held[0].committed == 0
        assert recorder.handled == []
        assert (
            _sample(
                "onex_event_bus_parked_messages_total", {"topic": topic, "consumer_group": group}
            )
            == parked_before + 1
        )
        assert _sample("onex_dlq_write_failures_total", {"topic": topic}) >= failures_before + 2
        dead = await _watch_after_start(dlq, dlq_topic_for(topic))
        await eventually(lambda: dead and recorder.handled)
        await eventually(
            lambda: all(
                p.parked_offset is None and p.lag == 0
                for p in small_bus.consumer_positions()
                if p.group_id == group
            )
        )
    finally:
        await engine.stop()
        await dlq.close()
    assert recorder.handled == ["after"]
    assert engine.outcomes[EnumDispatchOutcome.DLQ] == 1


async def _watch_after_start(bus: EventBusInmemory, topic: str) -> list[BusMessage]:
    await bus.start()
    return await _watch(bus, topic)


async def test_positions_move_with_deliveries_before_their_commit(
    small_bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A group working through a long batch is seen moving (its position is what it delivered),
    so stuck detection judges the message it holds, not the batch's commit."""
    topic = unique_topic()
    gate = asyncio.Event()
    taken: list[int] = []

    async def slow_third(message: BusMessage) -> None:
        if len(taken) == 2:
            await gate.wait()
        taken.append(message.offset)

    await small_bus.subscribe(
        topic,
        on_message=slow_third,
        group_id="long-batch",
        auto_offset_reset="earliest",
        in_flight_per_partition=1,
    )
    await small_bus.publish_batch(topic, [(b"k", f"m{i}".encode(), None) for i in range(5)])

    def held() -> list[tuple[int, int]]:
        return [
            (p.committed, p.end)
            for p in small_bus.consumer_positions()
            if p.group_id == "long-batch" and p.lag
        ]

    try:
        await eventually(lambda: len(taken) == 2 and held() == [(2, 5)])
    finally:
        gate.set()
    await eventually(lambda: len(taken) == 5 and not held())
