"""Bad input on both buses: each kind lands in the DLQ with a reason and the consumer goes on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch import DispatchContext, MessageDispatchEngine, ModelNodeOutput
from omnibase_infra.dispatch.engine import make_route
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.dlq import read_dlq_record
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.testing import TopicFactory, eventually


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


@dataclass
class _Wiring:
    bus: EventBusBase
    topic: str
    recorder: _Recorder
    dead: list[BusMessage]


@pytest_asyncio.fixture
async def wiring(any_bus: EventBusBase, unique_topic: TopicFactory) -> AsyncIterator[_Wiring]:
    """An engine (2 KB message limit, retry policy) routing ``_Order`` payloads on one topic."""
    topic = unique_topic()
    recorder = _Recorder()
    engine = MessageDispatchEngine(
        any_bus,
        failure_policy=RetryFailurePolicy(any_bus, ModelRetrySettings(max_attempts=3)),
        max_message_bytes=2048,
        auto_offset_reset="earliest",
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
    dead: list[BusMessage] = []

    async def on_dead(message: BusMessage) -> None:
        dead.append(message)

    await any_bus.subscribe(
        dlq_topic_for(topic), on_message=on_dead, group_id="dlq-watch", auto_offset_reset="earliest"
    )
    await engine.start()
    try:
        yield _Wiring(any_bus, topic, recorder, dead)
    finally:
        await engine.stop()


def _envelope(payload: dict[str, object], payload_type: str = "_Order") -> bytes:
    envelope = JsonEnvelope(payload=payload, payload_type=payload_type, correlation_id=uuid.uuid4())
    return envelope.model_dump_json(exclude_none=True).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x00\x01 not json at all", "not a valid event envelope"),
        (_envelope({"order_id": "o-1"}), "not a valid _Order"),
        (_envelope({"order_id": "o-2", "quantity": 1, "pad": "x" * 4096}), "exceeds the limit"),
        (_envelope({"order_id": "o-3", "quantity": 1}, payload_type="Unknown"), "no node routes"),
    ],
    ids=["non-json", "wrong-schema", "oversized", "unknown-payload-type"],
)
async def test_bad_message_is_dead_lettered_with_reason_and_next_one_handled(
    wiring: _Wiring, value: bytes, reason: str
) -> None:
    """The bad message goes to the DLQ once, unretried, with its reason; the next is handled."""
    await wiring.bus.publish(wiring.topic, b"same-key", value)
    await wiring.bus.publish(
        wiring.topic, b"same-key", _envelope({"order_id": "good", "quantity": 2})
    )
    await eventually(lambda: wiring.dead and wiring.recorder.handled)
    record = read_dlq_record(wiring.dead[0])
    assert record is not None
    assert record.error_type == "EnvelopeValidationError"
    assert reason in record.error_message
    assert record.attempts == 1
    assert wiring.dead[0].value == value
    assert wiring.recorder.handled == ["good"]
    assert len(wiring.dead) == 1
