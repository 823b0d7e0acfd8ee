"""EventBusKafka on a real Tansu broker: what the shared suite cannot see from outside."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from pydantic import BaseModel, SecretStr

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_ENVELOPE_ID,
    HEADER_PAYLOAD_TYPE,
)
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import TopicFactory, eventually, free_port, make_kafka_settings

pytestmark = pytest.mark.integration


class _Ping(BaseModel):
    n: int


async def test_envelope_headers_carry_ids_and_payload_type(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """A published envelope arrives with its correlation id, envelope id and payload type."""
    topic = unique_topic()
    received: list[BusMessage] = []

    async def on_message(message: BusMessage) -> None:
        received.append(message)

    await kafka_bus.subscribe(topic, on_message=on_message, group_id="headers")
    correlation_id = uuid.uuid4()
    envelope: ModelEventEnvelope[BaseModel] = ModelEventEnvelope(
        payload=_Ping(n=1), correlation_id=correlation_id, payload_type="_Ping"
    )
    await kafka_bus.publish_envelope(envelope, topic, b"key")
    await eventually(lambda: received)
    headers = received[0].headers
    assert headers[HEADER_CORRELATION_ID] == str(correlation_id)
    assert headers[HEADER_ENVELOPE_ID] == str(envelope.envelope_id)
    assert headers[HEADER_PAYLOAD_TYPE] == "_Ping"
    assert received[0].key == b"key"


async def test_offset_is_committed_only_after_the_callback_returned(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """While a callback runs its message stays uncommitted; the commit follows its return."""
    topic = unique_topic()
    release = asyncio.Event()
    entered = asyncio.Event()

    async def on_message(message: BusMessage) -> None:
        entered.set()
        await release.wait()

    await kafka_bus.subscribe(
        topic, on_message=on_message, group_id="commit-late", auto_offset_reset="earliest"
    )
    await kafka_bus.publish(topic, b"k", b"v")
    await asyncio.wait_for(entered.wait(), 20)
    assert await kafka_bus.get_committed_offset(topic, "commit-late") == 0
    release.set()
    committed: list[int | None] = []

    async def committed_one() -> bool:
        committed.append(await kafka_bus.get_committed_offset(topic, "commit-late"))
        return committed[-1] == 1

    await eventually(committed_one)
    assert committed[-1] == 1


async def test_idempotent_producer_publishes_with_acks_all(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """The producer runs with idempotence and acks=all and still delivers every message once."""
    config = kafka_bus.settings.producer_config()
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    topic = unique_topic()
    received: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        received.append(message.value)

    await kafka_bus.subscribe(topic, on_message=on_message, group_id="idem")
    values = [str(i).encode() for i in range(50)]
    await asyncio.gather(*(kafka_bus.publish(topic, v, v) for v in values))
    await eventually(lambda: len(received) == len(values))
    await asyncio.sleep(0.3)
    assert sorted(received) == sorted(values)


async def test_full_producer_queue_makes_publish_wait_not_grow(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory
) -> None:
    """With a local queue of 5, 300 concurrent publishes all succeed and stay near that bound."""
    bus = EventBusKafka(kafka_settings.model_copy(update={"producer_queue_messages": 5}))
    await bus.start()
    topic = unique_topic()
    peak = 0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, (await bus.health_check()).get("pending_messages", 0))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(bus.publish(topic, None, b"x" * 100) for _ in range(300)))
    finally:
        stop.set()
        await watcher
        await bus.close()
    # The client's count also includes acknowledgements not yet handed back, so allow one
    # bound's worth of those; without backpressure the count would reach 300.
    assert 0 < peak <= 10


async def test_a_batch_larger_than_the_local_queue_returns_once_every_message_is_acked(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory
) -> None:
    """A batch of 60 through a local queue of 5 (acks served while it sends) returns only
    once all 60 were acknowledged, and all 60 arrive in order."""
    bus = EventBusKafka(kafka_settings.model_copy(update={"producer_queue_messages": 5}))
    await bus.start()
    topic = unique_topic()
    seen: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        seen.append(message.value)

    try:
        await bus.subscribe(
            topic, on_message=on_message, group_id="big-batch", auto_offset_reset="earliest"
        )
        values = [str(n).encode() for n in range(60)]
        await bus.publish_batch(topic, [(b"k", value, None) for value in values])
        # Nothing left unacknowledged when the batch returned (the count includes acks not
        # yet handed back).
        assert (await bus.health_check())["pending_messages"] == 0
        await eventually(lambda: len(seen) == len(values))
        assert seen == values
    finally:
        await bus.close()


_UNREACHABLE_TOPIC = "onex.evt.test.unreachable.v1"


async def _publish_one(bus: EventBusKafka) -> None:
    await bus.publish(_UNREACHABLE_TOPIC, None, b"x")


async def _publish_two_as_a_batch(bus: EventBusKafka) -> None:
    await bus.publish_batch(_UNREACHABLE_TOPIC, [(None, b"x", None), (b"k", b"y", {"h": "1"})])


@pytest.mark.parametrize("send", [_publish_one, _publish_two_as_a_batch])
async def test_unreachable_broker_raises_a_typed_kafka_error(
    send: Callable[[EventBusKafka], Awaitable[None]],
) -> None:
    """Publishing (one message, or a batch as one error) with no broker listening fails with a
    retriable typed error in KAFKA context."""
    settings = make_kafka_settings(
        f"127.0.0.1:{free_port()}", delivery_timeout_ms=1500, auto_create_topics=False
    )
    bus = EventBusKafka(settings)
    await bus.start()
    try:
        with pytest.raises(RuntimeHostError) as caught:
            await send(bus)
    finally:
        await bus.close()
    assert caught.value.retriable
    assert caught.value.infra_context.transport_type is EnumInfraTransportType.KAFKA
    assert caught.value.infra_context.operation == "publish"


async def test_sasl_password_never_appears_in_errors_or_logs(
    tansu_server: object, capfd: pytest.CaptureFixture[str]
) -> None:
    """A failing SASL connection leaks its password into no error, repr or log line."""
    password = f"pw-{uuid.uuid4().hex}"
    bootstrap = getattr(tansu_server, "bootstrap_servers", "")
    settings = make_kafka_settings(
        bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="svc",
        sasl_password=SecretStr(password),
        delivery_timeout_ms=1500,
        auto_create_topics=False,
    )
    bus = EventBusKafka(settings)
    await bus.start()
    try:
        with pytest.raises(RuntimeHostError) as caught:
            await bus.publish("onex.evt.test.sasl.v1", None, b"x")
        health = await bus.health_check()
    finally:
        await bus.close()
    out, err = capfd.readouterr()
    texts = [str(caught.value), repr(caught.value), repr(settings), str(health), out, err]
    assert all(password not in text for text in texts)
    assert settings.common_config()["sasl.password"] == password


async def test_a_group_on_two_topics_is_one_member_delivering_each_topic_to_its_callback(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """``subscribe_group`` joins once for two topics: one member holds both topics' partitions,
    each topic's messages reach that topic's callback, and each topic's offsets are committed."""
    first, second = unique_topic(), unique_topic()
    got: dict[str, list[bytes]] = {first: [], second: []}

    def recorder(topic: str) -> Callable[[BusMessage], Awaitable[None]]:
        async def record(message: BusMessage) -> None:
            assert message.topic == topic
            got[topic].append(message.value)

        return record

    group = f"two-topics-{uuid.uuid4().hex[:8]}"
    leave = await kafka_bus.subscribe_group(
        {first: recorder(first), second: recorder(second)},
        group_id=group,
        auto_offset_reset="earliest",
    )
    try:
        (member,) = kafka_bus.members
        assert {topic for topic, _ in member.assigned} == {first, second}
        for n in range(5):
            await kafka_bus.publish(first, str(n).encode(), f"a{n}".encode())
            await kafka_bus.publish(second, str(n).encode(), f"b{n}".encode())
        await eventually(lambda: len(got[first]) == len(got[second]) == 5)

        async def both_committed() -> bool:
            offsets = await asyncio.gather(
                kafka_bus.get_committed_offset(first, group),
                kafka_bus.get_committed_offset(second, group),
            )
            return list(offsets) == [5, 5]

        await eventually(both_committed)
    finally:
        await leave()
    assert sorted(got[first]) == [f"a{n}".encode() for n in range(5)]
    assert sorted(got[second]) == [f"b{n}".encode() for n in range(5)]
