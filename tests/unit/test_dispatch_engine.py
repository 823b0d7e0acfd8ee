"""MessageDispatchEngine over the in-memory bus: routing, validation, DLQ, outcomes, correlation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, ConfigDict

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.correlation import current_correlation_id
from omnibase_infra.dispatch import (
    DeadLetterPolicy,
    DispatchContext,
    MessageDispatchEngine,
    ModelNodeOutput,
    ModelOutgoingMessage,
    make_route,
)
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.event_bus.codec import JsonEnvelope, decode_envelope, encode_envelope
from omnibase_infra.event_bus.dlq import ModelDlqRecord, read_dlq_record
from omnibase_infra.event_bus.dlq_writer import DeadLetterWriter
from omnibase_infra.event_bus.headers import HEADER_DLQ_RECORD
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.observability.metrics import REGISTRY

CMD = "onex.cmd.shop.place-order.v1"
EVT = "onex.evt.shop.order-accepted.v1"
INTENT = "onex.intent.shop.store-order.v1"


class ModelPlaceOrder(BaseModel):
    """Command payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: UUID
    quantity: int


class ModelOrderAccepted(BaseModel):
    """Event payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: UUID


class ModelStoreOrder(BaseModel):
    """Intent payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: UUID


class ModelCancelOrder(BaseModel):
    """A second command payload type on the same topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: UUID


OutputFactory = Callable[[DispatchContext], ModelNodeOutput | None]


class RecordingHandler:
    """A node handler that records what it got, optionally producing output or raising."""

    def __init__(
        self, output: OutputFactory | None = None, error: BaseException | None = None
    ) -> None:
        self.contexts: list[DispatchContext] = []
        self.ambient: list[UUID | None] = []
        self._output = output
        self._error = error

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        self.contexts.append(context)
        self.ambient.append(current_correlation_id())
        if self._error is not None:
            raise self._error
        return None if self._output is None else self._output(context)


def _node(name: str) -> str:
    """A node name unique to this run, so per-node metrics of one test are not shared."""
    return f"{name}_{uuid4().hex[:8]}"


def _envelope_bytes(
    payload: BaseModel | dict[str, object],
    *,
    correlation_id: UUID | None = None,
    payload_type: str | None = None,
) -> tuple[bytes, JsonEnvelope]:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    envelope = JsonEnvelope(
        payload=data,  # type: ignore[arg-type]
        correlation_id=correlation_id,
        payload_type=payload_type
        or (type(payload).__name__ if isinstance(payload, BaseModel) else None),
    )
    return encode_envelope(envelope), envelope


class Harness:
    """A started bus + engine, a reader of every DLQ topic used, and helpers to publish."""

    def __init__(self, bus: EventBusInmemory, engine: MessageDispatchEngine) -> None:
        self.bus = bus
        self.engine = engine
        self.dead: list[BusMessage] = []
        self.published: dict[str, list[BusMessage]] = {}

    async def watch(self, topic: str) -> list[BusMessage]:
        """Record every message on ``topic`` (from the earliest) in its own group."""
        seen: list[BusMessage] = []
        self.published[topic] = seen

        async def record(message: BusMessage) -> None:
            seen.append(message)

        await self.bus.subscribe(
            topic, on_message=record, group_id=f"watch-{uuid4().hex}", auto_offset_reset="earliest"
        )
        return seen

    async def send(
        self,
        payload: BaseModel | dict[str, object],
        *,
        topic: str = CMD,
        correlation_id: UUID | None = None,
        payload_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> JsonEnvelope:
        raw, envelope = _envelope_bytes(
            payload, correlation_id=correlation_id, payload_type=payload_type
        )
        wire_headers = {"onex-envelope-id": str(envelope.envelope_id), **(headers or {})}
        if envelope.payload_type:
            wire_headers["onex-payload-type"] = envelope.payload_type
        if correlation_id:
            wire_headers["onex-correlation-id"] = str(correlation_id)
        await self.bus.publish(topic, None, raw, wire_headers)
        return envelope

    async def settle(self) -> None:
        """Wait until every group (engine nodes and watchers) consumed everything."""
        for _ in range(3):  # outputs of one hop are inputs of the next
            await self.bus.wait_idle()
            await asyncio.sleep(0)


@pytest.fixture
async def bus() -> AsyncIterator[EventBusInmemory]:
    instance = EventBusInmemory(partitions=2)
    await instance.start()
    yield instance
    await instance.close()


def _order() -> ModelPlaceOrder:
    return ModelPlaceOrder(order_id=uuid4(), quantity=2)


async def _harness(bus: EventBusInmemory, *routes: object, **engine_kwargs: object) -> Harness:
    engine = MessageDispatchEngine(bus, **engine_kwargs)  # type: ignore[arg-type]
    for route in routes:
        engine.add_route(route)  # type: ignore[arg-type]
    harness = Harness(bus, engine)
    return harness


# -- routing ----------------------------------------------------------------------------------


async def test_two_nodes_on_one_topic_both_get_every_message(bus: EventBusInmemory) -> None:
    """Each node is its own consumer group, so two nodes on a topic each handle every message."""
    first, second = RecordingHandler(), RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("audit"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=first,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
        make_route(
            node_name=_node("pricing"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=second,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
    )
    await harness.engine.start()
    orders = [_order() for _ in range(5)]
    for order in orders:
        await harness.send(order)
    await harness.settle()
    assert sorted(c.payload.order_id for c in first.contexts) == sorted(o.order_id for o in orders)  # type: ignore[union-attr]
    assert sorted(c.payload.order_id for c in second.contexts) == sorted(o.order_id for o in orders)  # type: ignore[union-attr]
    assert harness.engine.outcomes == {EnumDispatchOutcome.HANDLED: 10}
    await harness.engine.stop()


async def test_payload_routed_by_another_node_is_skipped_not_dead_lettered(
    bus: EventBusInmemory,
) -> None:
    """A payload type that another node on the topic routes is UNROUTED for this node."""
    placer, canceller = RecordingHandler(), RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("placer"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=placer,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
        make_route(
            node_name=_node("canceller"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=canceller,
            payload_type="ModelCancelOrder",
            input_model=ModelCancelOrder,
        ),
    )
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    await harness.send(_order())
    await harness.send(ModelCancelOrder(order_id=uuid4()))
    await harness.settle()
    assert len(placer.contexts) == 1
    assert isinstance(placer.contexts[0].payload, ModelPlaceOrder)
    assert len(canceller.contexts) == 1
    assert isinstance(canceller.contexts[0].payload, ModelCancelOrder)
    assert harness.engine.outcomes == {
        EnumDispatchOutcome.HANDLED: 2,
        EnumDispatchOutcome.UNROUTED: 2,
    }
    assert dead == []
    await harness.engine.stop()


async def test_payload_routed_by_no_node_is_dead_lettered(bus: EventBusInmemory) -> None:
    """A payload type no node on the topic routes goes to the DLQ with a sanitised record."""
    handler = RecordingHandler()
    node = _node("placer")
    harness = await _harness(
        bus,
        make_route(
            node_name=node,
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
    )
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    correlation_id = uuid4()
    envelope = await harness.send(
        {"what": "refund"}, payload_type="ModelRefund", correlation_id=correlation_id
    )
    await harness.settle()
    assert handler.contexts == []
    (message,) = dead
    record = read_dlq_record(message)
    assert record is not None
    assert record.original_topic == CMD
    assert record.consumer_group == harness.engine.group_id_for(node)
    assert record.error_type == "EnvelopeValidationError"
    assert "ModelRefund" in record.error_message
    assert record.payload_type == "ModelRefund"
    assert record.correlation_id == correlation_id
    assert record.envelope_id == envelope.envelope_id
    assert harness.engine.outcomes == {EnumDispatchOutcome.DLQ: 1}
    await harness.engine.stop()


async def test_unroutable_message_is_dead_lettered_once_however_many_nodes_consume_the_topic(
    bus: EventBusInmemory,
) -> None:
    """A payload type no node routes yields one dead letter, not one per consuming node."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("placer"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=RecordingHandler(),
            payload_type="ModelPlaceOrder",
        ),
        make_route(
            node_name=_node("canceller"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=RecordingHandler(),
            payload_type="ModelCancelOrder",
        ),
    )
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    await harness.send({"what": "refund"}, payload_type="ModelRefund")
    await harness.settle()
    assert len(dead) == 1
    await harness.engine.stop()


async def test_catch_all_route_takes_every_payload_type(bus: EventBusInmemory) -> None:
    """A route without payload type receives every message on its topic as plain JSON."""
    handler = RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("auditor"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=handler,
        ),
    )
    await harness.engine.start()
    await harness.send({"anything": 1}, payload_type="ModelWhatever")
    await harness.send({"untyped": True})
    await harness.settle()
    assert [c.payload for c in handler.contexts] == [{"anything": 1}, {"untyped": True}]
    assert harness.engine.outcomes == {EnumDispatchOutcome.HANDLED: 2}
    await harness.engine.stop()


async def test_payload_is_validated_into_the_route_input_model(bus: EventBusInmemory) -> None:
    """The handler receives the payload as an instance of the route's input model."""
    handler = RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("placer"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
    )
    await harness.engine.start()
    order = _order()
    envelope = await harness.send(order)
    await harness.settle()
    (context,) = handler.contexts
    assert context.payload == order
    assert context.envelope.envelope_id == envelope.envelope_id
    assert context.message.topic == CMD
    await harness.engine.stop()


# -- poison messages and the DLQ --------------------------------------------------------------


def _poison_cases() -> list[tuple[str, bytes]]:
    oversized = encode_envelope(
        JsonEnvelope(payload={"blob": "x" * 5000}, payload_type="ModelPlaceOrder")
    )
    wrong_payload = encode_envelope(
        JsonEnvelope(
            payload={"order_id": "not-a-uuid", "quantity": 1}, payload_type="ModelPlaceOrder"
        )
    )
    extra_field = json.dumps(
        {"payload": {}, "payload_type": "ModelPlaceOrder", "unexpected": 1}
    ).encode()
    return [
        ("not json", b"\x00\x01 definitely not json"),
        ("wrong schema", json.dumps({"payload_type": "ModelPlaceOrder"}).encode()),
        ("extra envelope field", extra_field),
        ("payload not the input model", wrong_payload),
        ("oversized", oversized),
    ]


async def test_poison_messages_are_dead_lettered_and_the_consumer_keeps_going(
    bus: EventBusInmemory,
) -> None:
    """Each poison message goes to the DLQ byte for byte, and the next good one is handled."""
    handler = RecordingHandler()
    node = _node("placer")
    harness = await _harness(
        bus,
        make_route(
            node_name=node,
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
        max_message_bytes=2048,
    )
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    cases = _poison_cases()
    good: list[ModelPlaceOrder] = []
    for index, (_, raw) in enumerate(cases):
        await bus.publish(CMD, b"same-key", raw, {"x-case": str(index)})
        order = _order()
        good.append(order)
        raw_good, _ = _envelope_bytes(order)
        await bus.publish(CMD, b"same-key", raw_good, {"x-case": "good"})
    await harness.settle()

    assert [c.payload for c in handler.contexts] == good
    assert len(dead) == len(cases)
    by_case = {message.headers["x-case"]: message for message in dead}
    for index, (name, raw) in enumerate(cases):
        message = by_case[str(index)]
        assert message.value == raw, name  # original bytes, untouched
        assert message.key == b"same-key", name
        record = read_dlq_record(message)
        assert record is not None, name
        assert record.original_topic == CMD
        assert record.error_type == "EnvelopeValidationError", name
        assert record.consumer_group == harness.engine.group_id_for(node)
    # The record says why, never what: no part of the original content is copied into it.
    assert "definitely not json" not in by_case["0"].headers[HEADER_DLQ_RECORD]
    assert "xxxxxxxx" not in by_case["4"].headers[HEADER_DLQ_RECORD]
    assert harness.engine.outcomes == {
        EnumDispatchOutcome.HANDLED: len(cases),
        EnumDispatchOutcome.DLQ: len(cases),
    }
    await harness.engine.stop()


async def test_raising_handler_is_dead_lettered_with_a_sanitised_reason(
    bus: EventBusInmemory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A handler's exception dead-letters the message; the record and the log mask secrets."""
    error = RuntimeError("insert failed on postgresql://app:HandlerPw-5150@db/app token=T0k3n-99")
    handler = RecordingHandler(error=error)
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("storer"),
            archetype=EnumNodeKind.EFFECT,
            topic=INTENT,
            handler=handler,
            payload_type="ModelStoreOrder",
            input_model=ModelStoreOrder,
        ),
    )
    dead = await harness.watch(dlq_topic_for(INTENT))
    await harness.engine.start()
    correlation_id = uuid4()
    await harness.send(
        ModelStoreOrder(order_id=uuid4()),
        topic=INTENT,
        correlation_id=correlation_id,
        headers={"x-trace": "kept"},
    )
    await harness.settle()
    (message,) = dead
    assert message.headers["x-trace"] == "kept"  # original headers kept
    raw_record = message.headers[HEADER_DLQ_RECORD]
    assert "HandlerPw-5150" not in raw_record
    assert "T0k3n-99" not in raw_record
    record = ModelDlqRecord.model_validate_json(raw_record)
    assert record.error_type == "RuntimeError"
    assert "postgresql://***@db/app" in record.error_message
    assert record.correlation_id == correlation_id
    assert record.attempts == 1
    assert harness.engine.outcomes == {EnumDispatchOutcome.DLQ: 1}
    logged = capsys.readouterr().err
    assert "message dead-lettered" in logged
    assert str(correlation_id) in logged
    assert "HandlerPw-5150" not in logged
    assert "T0k3n-99" not in logged
    await harness.engine.stop()


async def test_unexpected_exception_gets_an_error_id_in_its_record_and_its_logged_traceback(
    bus: EventBusInmemory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bare `assert` failing in a handler: the record names the type, where it was raised and
    an error id; one log line carries the same id, the correlation id and the traceback."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("storer"),
            archetype=EnumNodeKind.EFFECT,
            topic=INTENT,
            handler=RecordingHandler(error=AssertionError()),
            payload_type="ModelStoreOrder",
            input_model=ModelStoreOrder,
        ),
    )
    dead = await harness.watch(dlq_topic_for(INTENT))
    await harness.engine.start()
    correlation_id = uuid4()
    await harness.send(
        ModelStoreOrder(order_id=uuid4()), topic=INTENT, correlation_id=correlation_id
    )
    await harness.settle()
    (message,) = dead
    record = ModelDlqRecord.model_validate_json(message.headers[HEADER_DLQ_RECORD])
    assert record.error_type == "AssertionError"
    assert record.error_message.startswith("AssertionError raised at ")
    assert " in handle" in record.error_message
    assert record.error_id is not None
    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if str(record.error_id) in line
    ]
    assert len(lines) == 1
    assert lines[0]["correlation_id"] == str(correlation_id)
    assert "Traceback" in lines[0]["exception"]
    assert "AssertionError" in lines[0]["exception"]
    await harness.engine.stop()


async def test_outcomes_add_up_and_are_exported_as_metrics(bus: EventBusInmemory) -> None:
    """Every consumed message ends HANDLED, UNROUTED or DLQ, counted per node in metrics."""
    node_a, node_b = _node("placer"), _node("canceller")
    harness = await _harness(
        bus,
        make_route(
            node_name=node_a,
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=RecordingHandler(),
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
        make_route(
            node_name=node_b,
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=RecordingHandler(),
            payload_type="ModelCancelOrder",
            input_model=ModelCancelOrder,
        ),
    )
    await harness.engine.start()
    for _ in range(3):
        await harness.send(_order())
    await harness.send(ModelCancelOrder(order_id=uuid4()))
    await bus.publish(CMD, None, b"garbage")
    await harness.settle()

    consumed = 5 * 2  # every message reaches both nodes' groups
    assert sum(harness.engine.outcomes.values()) == consumed
    # The garbage is bad for both nodes: only the topic's owner (the first node name in
    # order, "canceller_...") dead-letters it, the other node's group skips it.
    assert harness.engine.outcomes == {
        EnumDispatchOutcome.HANDLED: 4,
        EnumDispatchOutcome.UNROUTED: 5,
        EnumDispatchOutcome.DLQ: 1,
    }

    def metric(node: str, outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "onex_dispatch_messages_total", {"node": node, "outcome": outcome}
        )
        return 0.0 if value is None else value

    assert metric(node_a, "handled") == 3
    assert metric(node_a, "unrouted") == 2
    assert metric(node_a, "dlq") == 0
    assert metric(node_b, "handled") == 1
    assert metric(node_b, "unrouted") == 3
    assert metric(node_b, "dlq") == 1
    await harness.engine.stop()


class _GateHandler(RecordingHandler):
    """Holds every message until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        self.entered.set()
        await self.gate.wait()
        return await super().handle(context)


async def test_handling_latency_and_in_flight_are_exported_per_node(bus: EventBusInmemory) -> None:
    """A node holding a message shows it in flight; once done, its latency histogram has
    counted every message it consumed (one per outcome) and nothing is in flight."""
    node = _node("timed")
    handler = _GateHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=node,
            archetype=EnumNodeKind.EFFECT,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
    )
    await harness.engine.start()
    await harness.send(_order())
    await asyncio.wait_for(handler.entered.wait(), 10)
    held = REGISTRY.get_sample_value("onex_dispatch_in_flight_messages", {"node": node})
    handler.gate.set()
    await harness.send(_order())
    await bus.publish(CMD, None, b"garbage")
    await harness.settle()
    labels = {"node": node}
    assert held == 1
    assert REGISTRY.get_sample_value("onex_dispatch_in_flight_messages", labels) == 0
    assert REGISTRY.get_sample_value("onex_dispatch_handling_duration_seconds_count", labels) == 3
    infinite = {"node": node, "le": "+Inf"}
    assert (
        REGISTRY.get_sample_value("onex_dispatch_handling_duration_seconds_bucket", infinite) == 3
    )
    group = harness.engine.group_id_for(node)
    dead = REGISTRY.get_sample_value(
        "onex_dispatch_dead_lettered_total",
        {"topic": CMD, "consumer_group": group, "reason": "invalid_input"},
    )
    assert dead == 1
    await harness.engine.stop()


async def test_a_dlq_message_is_never_dead_lettered_again(bus: EventBusInmemory) -> None:
    """The DLQ policy leaves a message consumed from a DLQ topic where it is."""
    dlq = dlq_topic_for(CMD)
    dlq_of_dlq = await Harness(bus, MessageDispatchEngine(bus)).watch(dlq)
    message = BusMessage(dlq, None, b"original", {HEADER_DLQ_RECORD: "{}"}, 0, 7)
    outcome = await DeadLetterPolicy(bus).on_failure(
        message, RuntimeError("inspection failed"), consumer_group="inspector"
    )
    await bus.wait_idle()
    assert outcome is EnumDispatchOutcome.DLQ
    assert dlq_of_dlq == []


def test_nodes_cannot_subscribe_to_dlq_topics(bus: EventBusInmemory) -> None:
    """Routing a node to a dead-letter topic is refused, so dead letters are not re-dispatched."""
    engine = MessageDispatchEngine(bus)
    with pytest.raises(ProtocolConfigurationError):
        engine.add_route(
            make_route(
                node_name="inspector",
                archetype=EnumNodeKind.COMPUTE,
                topic=dlq_topic_for(CMD),
                handler=RecordingHandler(),
            )
        )
    assert engine.routes == []


async def test_failing_dead_letter_parks_the_message_until_the_dlq_is_back() -> None:
    """If dead-lettering fails (DLQ bus closed), the message is parked: not committed, not
    lost, held at its offset, and dead-lettered once the DLQ is back."""
    bus = EventBusInmemory(partitions=2, park_seconds=0.05)
    await bus.start()
    dlq_bus = EventBusInmemory(partitions=1)
    await dlq_bus.close()
    handler = RecordingHandler(error=RuntimeError("always fails"))
    node = _node("storer")
    writer = DeadLetterWriter(dlq_bus, attempts=2, retry_delay_seconds=0.001)
    harness = await _harness(
        bus,
        make_route(
            node_name=node,
            archetype=EnumNodeKind.EFFECT,
            topic=INTENT,
            handler=handler,
        ),
        failure_policy=DeadLetterPolicy(dlq_bus, writer),
    )
    await harness.engine.start()
    await harness.send(ModelStoreOrder(order_id=uuid4()), topic=INTENT)
    group = harness.engine.group_id_for(node)

    async with asyncio.timeout(5):
        while harness.engine.outcomes[EnumDispatchOutcome.PARKED] < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert await bus.get_committed_offset(INTENT, group) == 0
    assert EnumDispatchOutcome.DLQ not in harness.engine.outcomes
    (parked,) = [p for p in bus.consumer_positions() if p.parked_offset is not None]
    assert (parked.topic, parked.group_id, parked.parked_offset) == (INTENT, group, 0)

    # The DLQ becomes available: the next try is dead-lettered and committed.
    dead: list[BusMessage] = []

    async def record(message: BusMessage) -> None:
        dead.append(message)

    await dlq_bus.start()
    await dlq_bus.subscribe(
        dlq_topic_for(INTENT), on_message=record, group_id="reader", auto_offset_reset="earliest"
    )
    await harness.settle()
    await dlq_bus.wait_idle()
    assert await bus.get_committed_offset(INTENT, group) == 1
    assert len(dead) == 1
    assert harness.engine.outcomes[EnumDispatchOutcome.DLQ] == 1
    assert all(p.parked_offset is None for p in bus.consumer_positions())
    await harness.engine.stop()
    await dlq_bus.close()
    await bus.close()


# -- what nodes may emit ----------------------------------------------------------------------


def _emit_event(context: DispatchContext) -> ModelNodeOutput:
    payload = context.payload
    assert isinstance(payload, ModelPlaceOrder)
    return ModelNodeOutput(
        events=(
            ModelOutgoingMessage(
                topic=EVT, payload=ModelOrderAccepted(order_id=payload.order_id), key="k"
            ),
        )
    )


def _emit_intent(context: DispatchContext) -> ModelNodeOutput:
    payload = context.payload
    assert isinstance(payload, ModelOrderAccepted | ModelPlaceOrder)
    return ModelNodeOutput(
        intents=(
            ModelOutgoingMessage(topic=INTENT, payload=ModelStoreOrder(order_id=payload.order_id)),
        )
    )


@pytest.mark.parametrize(
    ("archetype", "output", "publish_topic"),
    [
        (EnumNodeKind.REDUCER, _emit_event, EVT),
        (EnumNodeKind.COMPUTE, _emit_event, EVT),
        (EnumNodeKind.EFFECT, _emit_event, EVT),
        (EnumNodeKind.ORCHESTRATOR, _emit_intent, INTENT),
        (EnumNodeKind.COMPUTE, _emit_intent, INTENT),
        (EnumNodeKind.EFFECT, _emit_intent, INTENT),
    ],
)
async def test_only_orchestrators_emit_events_and_only_reducers_intents(
    bus: EventBusInmemory,
    archetype: EnumNodeKind,
    output: OutputFactory,
    publish_topic: str,
) -> None:
    """Output an archetype may not produce is refused: nothing published, message dead-lettered."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node(archetype.value),
            archetype=archetype,
            topic=CMD,
            handler=RecordingHandler(output=output),
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({publish_topic}),
        ),
    )
    emitted = await harness.watch(publish_topic)
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    await harness.send(_order())
    await harness.settle()
    assert emitted == []
    (message,) = dead
    record = read_dlq_record(message)
    assert record is not None
    assert record.error_type == "ProtocolConfigurationError"
    assert archetype.value in record.error_message
    await harness.engine.stop()


def _accept(context: DispatchContext) -> ModelNodeOutput:
    payload = context.payload
    assert isinstance(payload, ModelPlaceOrder)
    return ModelNodeOutput(result=ModelOrderAccepted(order_id=payload.order_id))


async def test_an_effect_result_is_published_on_its_declared_topic(bus: EventBusInmemory) -> None:
    """The engine publishes an EFFECT's result on the topic declared for its model, with the
    command's correlation id, the command as parent and the command's key."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("store"),
            archetype=EnumNodeKind.EFFECT,
            topic=CMD,
            handler=RecordingHandler(output=_accept),
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({EVT}),
            results=((ModelOrderAccepted, EVT),),
        ),
    )
    emitted = await harness.watch(EVT)
    await harness.engine.start()
    order = _order()
    correlation_id = uuid4()
    data, sent = _envelope_bytes(order, correlation_id=correlation_id)
    await bus.publish(CMD, b"order-key", data)
    await harness.settle()
    (message,) = emitted
    envelope = decode_envelope(message.value)
    assert envelope.payload == {"order_id": str(order.order_id)}
    assert envelope.payload_type == "ModelOrderAccepted"
    assert envelope.correlation_id == correlation_id
    assert envelope.parent_envelope_id == sent.envelope_id
    assert message.key == b"order-key"
    await harness.engine.stop()


async def test_an_effect_result_of_an_undeclared_model_is_dead_lettered(
    bus: EventBusInmemory,
) -> None:
    """A result whose model the contract declares for no topic is refused: nothing published."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("store"),
            archetype=EnumNodeKind.EFFECT,
            topic=CMD,
            handler=RecordingHandler(output=_accept),
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({EVT}),
            results=((ModelStoreOrder, EVT),),
        ),
    )
    emitted = await harness.watch(EVT)
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    await harness.send(_order())
    await harness.settle()
    assert emitted == []
    (message,) = dead
    record = read_dlq_record(message)
    assert record is not None
    assert "ModelOrderAccepted" in record.error_message
    await harness.engine.stop()


async def test_publishing_to_an_undeclared_topic_is_refused(bus: EventBusInmemory) -> None:
    """An orchestrator may only publish on topics its contract declares."""
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("flow"),
            archetype=EnumNodeKind.ORCHESTRATOR,
            topic=CMD,
            handler=RecordingHandler(output=_emit_event),
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({"onex.evt.shop.something-else.v1"}),
        ),
    )
    emitted = await harness.watch(EVT)
    dead = await harness.watch(dlq_topic_for(CMD))
    await harness.engine.start()
    await harness.send(_order())
    await harness.settle()
    assert emitted == []
    (message,) = dead
    record = read_dlq_record(message)
    assert record is not None
    assert "publish_topics" in record.error_message
    await harness.engine.stop()


# -- correlation across hops ------------------------------------------------------------------


async def test_correlation_and_causation_flow_through_a_publish_dispatch_publish_chain(
    bus: EventBusInmemory,
) -> None:
    """An orchestrator's event and a reducer's intent keep the correlation id and name a parent."""
    orchestrator = RecordingHandler(output=_emit_event)
    reducer = RecordingHandler(output=_emit_intent)
    effect = RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("flow"),
            archetype=EnumNodeKind.ORCHESTRATOR,
            topic=CMD,
            handler=orchestrator,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({EVT}),
        ),
        make_route(
            node_name=_node("state"),
            archetype=EnumNodeKind.REDUCER,
            topic=EVT,
            handler=reducer,
            payload_type="ModelOrderAccepted",
            input_model=ModelOrderAccepted,
            publish_topics=frozenset({INTENT}),
        ),
        make_route(
            node_name=_node("store"),
            archetype=EnumNodeKind.EFFECT,
            topic=INTENT,
            handler=effect,
            payload_type="ModelStoreOrder",
            input_model=ModelStoreOrder,
        ),
    )
    events = await harness.watch(EVT)
    await harness.engine.start()
    correlation_id = uuid4()
    order = _order()
    command = await harness.send(order, correlation_id=correlation_id)
    await harness.settle()

    (event_message,) = events
    event = decode_envelope(event_message.value)
    assert event.correlation_id == correlation_id
    assert event.parent_envelope_id == command.envelope_id
    assert event.payload_type == "ModelOrderAccepted"
    assert event_message.headers["onex-correlation-id"] == str(correlation_id)
    assert event_message.key == b"k"

    (reduced,) = reducer.contexts
    assert reduced.correlation_id == correlation_id
    assert reduced.envelope.envelope_id == event.envelope_id
    assert reduced.payload == ModelOrderAccepted(order_id=order.order_id)

    (stored,) = effect.contexts
    assert stored.correlation_id == correlation_id
    assert stored.envelope.parent_envelope_id == event.envelope_id
    assert stored.payload == ModelStoreOrder(order_id=order.order_id)
    # Handlers ran with the correlation id as the ambient one (logs and errors pick it up).
    assert orchestrator.ambient == reducer.ambient == effect.ambient == [correlation_id]
    await harness.engine.stop()


async def test_envelope_without_correlation_id_gets_a_fresh_one_its_outputs_carry(
    bus: EventBusInmemory,
) -> None:
    """A message with no correlation id is given a new uuid4, carried by what it causes."""
    orchestrator = RecordingHandler(output=_emit_event)
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("flow"),
            archetype=EnumNodeKind.ORCHESTRATOR,
            topic=CMD,
            handler=orchestrator,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
            publish_topics=frozenset({EVT}),
        ),
    )
    events = await harness.watch(EVT)
    await harness.engine.start()
    first = await harness.send(_order())
    second = await harness.send(_order())
    await harness.settle()

    assert first.correlation_id is None
    generated = [context.correlation_id for context in orchestrator.contexts]
    assert all(isinstance(value, UUID) and value.version == 4 for value in generated)
    assert generated[0] != generated[1]
    assert orchestrator.ambient == generated
    emitted = {decode_envelope(m.value).parent_envelope_id: m for m in events}
    for envelope, correlation_id in zip((first, second), generated, strict=True):
        assert decode_envelope(emitted[envelope.envelope_id].value).correlation_id == correlation_id
    # Nothing leaks into the next message or out of the dispatch.
    assert current_correlation_id() is None
    await harness.engine.stop()


async def test_a_message_failing_before_its_id_is_known_never_carries_the_previous_id(
    bus: EventBusInmemory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A poison message right after a good one on its partition is dead-lettered and logged
    without the good one's correlation id (the engine leaves an id set between messages)."""
    handler = RecordingHandler()
    harness = await _harness(
        bus,
        make_route(
            node_name=_node("placer"),
            archetype=EnumNodeKind.COMPUTE,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        ),
    )
    dead = await harness.watch(dlq_topic_for(CMD))
    correlation_id = uuid4()
    raw_good, _ = _envelope_bytes(_order(), correlation_id=correlation_id)
    await bus.publish(CMD, b"same-key", raw_good, {})
    await bus.publish(CMD, b"same-key", b"definitely not json", {})
    await bus.publish(CMD, b"same-key", b"x" * 10, {})
    await harness.engine.start()  # both in one delivery run, one after the other
    await harness.settle()

    assert handler.ambient == [correlation_id]
    assert len(dead) == 2
    logged = [
        line for line in capsys.readouterr().err.splitlines() if "message dead-lettered" in line
    ]
    assert len(logged) == 2
    assert all(str(correlation_id) not in line for line in logged)
    await harness.engine.stop()


# -- wiring -----------------------------------------------------------------------------------


async def test_dispatch_for_an_unknown_group_is_a_configuration_error(
    bus: EventBusInmemory,
) -> None:
    """Re-dispatching (retries) for a topic/group no node consumes raises a typed error."""
    engine = MessageDispatchEngine(bus)
    raw, _ = _envelope_bytes(_order())
    with pytest.raises(ProtocolConfigurationError):
        await engine.dispatch(BusMessage(CMD, None, raw, {}), consumer_group="nobody")


async def test_stop_leaves_the_groups_so_later_messages_wait_for_the_next_start(
    bus: EventBusInmemory,
) -> None:
    """After stop() nothing is dispatched; a restarted engine resumes from the committed offset."""
    handler = RecordingHandler()
    route = make_route(
        node_name=_node("placer"),
        archetype=EnumNodeKind.COMPUTE,
        topic=CMD,
        handler=handler,
        payload_type="ModelPlaceOrder",
        input_model=ModelPlaceOrder,
    )
    harness = await _harness(bus, route)
    await harness.engine.start()
    await harness.send(_order())
    await harness.settle()
    await harness.engine.stop()
    waiting = _order()
    await harness.send(waiting)
    await harness.settle()
    assert len(handler.contexts) == 1

    restarted = MessageDispatchEngine(bus)
    restarted.add_route(route)
    await restarted.start()
    await harness.settle()
    assert [c.payload for c in handler.contexts][1:] == [waiting]
    await restarted.stop()


async def test_closed_bus_makes_emission_fail_loudly(bus: EventBusInmemory) -> None:
    """Emitting on a closed bus, where not even a dead letter can be written, parks the message
    (it is held for redelivery, an output is never dropped)."""
    engine = MessageDispatchEngine(bus)
    route = make_route(
        node_name="flow",
        archetype=EnumNodeKind.ORCHESTRATOR,
        topic=CMD,
        handler=RecordingHandler(output=_emit_event),
        payload_type="ModelPlaceOrder",
        input_model=ModelPlaceOrder,
        publish_topics=frozenset({EVT}),
    )
    engine.add_route(route)
    await bus.close()
    raw, _ = _envelope_bytes(_order())
    message = BusMessage(CMD, None, raw, {})
    outcome = await engine.dispatch(message, consumer_group=engine.group_id_for("flow"))
    assert outcome is EnumDispatchOutcome.PARKED
    assert message.parked


class _SlowHandler:
    """A handler that waits briefly per message and notes the most it ever held at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.handled = 0

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.002)
        self.in_flight -= 1
        self.handled += 1
        return None


@pytest.mark.parametrize(
    ("archetype", "most"), [(EnumNodeKind.COMPUTE, 1), (EnumNodeKind.EFFECT, 8)]
)
async def test_compute_nodes_take_a_partition_one_message_at_a_time(
    archetype: EnumNodeKind, most: int
) -> None:
    """A COMPUTE node's partition is delivered one message at a time; other archetypes get as
    many messages of distinct keys at once as the bus delivers."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=8)
    engine = MessageDispatchEngine(bus)
    handler = _SlowHandler()
    engine.add_route(
        make_route(
            node_name=_node("slow"),
            archetype=archetype,
            topic=CMD,
            handler=handler,
            payload_type="ModelPlaceOrder",
            input_model=ModelPlaceOrder,
        )
    )
    for _ in range(24):
        raw, _ = _envelope_bytes(ModelPlaceOrder(order_id=uuid4(), quantity=1))
        await bus.publish(CMD, uuid4().bytes, raw)
    await engine.start()
    await bus.wait_idle()
    assert handler.handled == 24
    assert handler.peak == most
    await engine.stop()
    await bus.close()


# -- joining the groups -------------------------------------------------------------------------


class JoinRecordingBus(EventBusInmemory):
    """The in-memory bus, recording each group join (and able to slow it or fail it)."""

    def __init__(self, *, join_seconds: float = 0.0, failing_group: str | None = None) -> None:
        super().__init__(partitions=2)
        self.joins: list[tuple[str, tuple[str, ...]]] = []
        self.joining = 0
        self.most_joining = 0
        self.left: list[str] = []
        self._join_seconds = join_seconds
        self._failing_group = failing_group

    async def subscribe_group(self, callbacks, *, group_id, **options):  # type: ignore[no-untyped-def]
        self.joins.append((group_id, tuple(callbacks)))
        self.joining += 1
        self.most_joining = max(self.most_joining, self.joining)
        try:
            await asyncio.sleep(self._join_seconds)
            if group_id == self._failing_group:
                raise InfraUnavailableError("no partition assignment")
            unsubscribe = await super().subscribe_group(callbacks, group_id=group_id, **options)
        finally:
            self.joining -= 1

        async def leave() -> None:
            self.left.append(group_id)
            await unsubscribe()

        return leave


def _route(node: str, topic: str, handler: RecordingHandler) -> object:
    return make_route(
        node_name=node,
        archetype=EnumNodeKind.EFFECT if topic == INTENT else EnumNodeKind.ORCHESTRATOR,
        topic=topic,
        handler=handler,
        payload_type="ModelPlaceOrder",
        input_model=ModelPlaceOrder,
    )


async def test_a_node_on_two_topics_is_one_group_that_gets_both() -> None:
    """A node subscribing to two topics joins one consumer group (one join) holding both, and
    handles the messages of each."""
    bus = JoinRecordingBus()
    handler = RecordingHandler()
    node = _node("flow")
    harness = await _harness(bus, _route(node, CMD, handler), _route(node, EVT, handler))
    await harness.engine.start()
    try:
        await harness.send(_order(), topic=CMD)
        await harness.send(_order(), topic=EVT)
        await harness.settle()
    finally:
        await harness.engine.stop()
        await bus.close()
    assert bus.joins == [(harness.engine.group_id_for(node), (CMD, EVT))]
    assert sorted(c.message.topic for c in handler.contexts) == sorted([CMD, EVT])


async def test_the_nodes_groups_join_at_the_same_time() -> None:
    """Three nodes' groups are all joining at once, not one after another."""
    bus = JoinRecordingBus(join_seconds=0.05)
    nodes = [_node(name) for name in ("a", "b", "c")]
    harness = await _harness(bus, *(_route(n, CMD, RecordingHandler()) for n in nodes))
    await harness.engine.start()
    await harness.engine.stop()
    await bus.close()
    assert len(bus.joins) == 3
    assert bus.most_joining == 3


async def test_a_failed_join_leaves_the_joined_groups_and_raises_its_error() -> None:
    """When one group cannot join, the start raises that error (not a group of errors) and the
    groups that did join are left again."""
    nodes = [_node("ok"), _node("broken")]
    probe = MessageDispatchEngine(EventBusInmemory())
    bus = JoinRecordingBus(failing_group=probe.group_id_for(nodes[1]))
    harness = await _harness(bus, *(_route(n, CMD, RecordingHandler()) for n in nodes))
    with pytest.raises(InfraUnavailableError, match="no partition assignment"):
        await harness.engine.start()
    await bus.close()
    assert bus.left == [harness.engine.group_id_for(nodes[0])]
    assert sorted(harness.engine.pending_groups) == sorted(harness.engine.groups)


async def test_held_deliveries_wait_for_release(bus: EventBusInmemory) -> None:
    """After hold(), a message that arrives is not handled until release()."""
    handler = RecordingHandler()
    harness = await _harness(bus, _route(_node("flow"), CMD, handler))
    harness.engine.hold()
    await harness.engine.start()
    try:
        await harness.send(_order())
        for _ in range(20):
            await asyncio.sleep(0)
        held = len(handler.contexts)
        harness.engine.release()
        await harness.settle()
    finally:
        await harness.engine.stop()
    assert held == 0
    assert len(handler.contexts) == 1


async def test_stop_while_held_hands_the_message_back_unhandled_and_uncommitted(
    bus: EventBusInmemory,
) -> None:
    """Stopping an engine that still holds deliveries handles nothing and commits nothing: the
    group's next member gets the message."""
    handler = RecordingHandler()
    node = _node("flow")
    harness = await _harness(bus, _route(node, CMD, handler))
    harness.engine.hold()
    await harness.engine.start()
    await harness.send(_order())
    for _ in range(20):
        await asyncio.sleep(0)
    await harness.engine.stop()
    assert handler.contexts == []
    assert await bus.get_committed_offset(CMD, harness.engine.group_id_for(node)) == 0
