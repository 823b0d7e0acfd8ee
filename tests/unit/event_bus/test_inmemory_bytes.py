"""EventBusInmemory's byte bounds: back-pressure on undelivered bytes, retention by bytes.

A message counts for its key, value and header bytes. Undelivered messages are never dropped:
past ``capacity_bytes`` publish waits, and past ``publish_timeout_seconds`` it raises.
"""

from __future__ import annotations

import asyncio

import pytest

from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage

TOPIC = "onex.evt.demo.thing-happened.v1"
VALUE = 300  # bytes of every test message's value (no key, no headers)


def _value(index: int) -> bytes:
    return str(index).encode().ljust(VALUE, b".")


async def _spin(rounds: int = 20) -> None:
    """Let every ready task run a few times (enough for anything not blocked to progress)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class _Gated:
    """A consumer that takes messages only once its gate is open."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.received: list[bytes] = []

    async def __call__(self, message: BusMessage) -> None:
        await self.gate.wait()
        self.received.append(message.value)


async def test_publish_waits_past_capacity_bytes_and_then_delivers_everything() -> None:
    """With a group ``capacity_bytes`` behind, publish waits (well below the message count
    bound) and, once the group consumes, every message arrives in order."""
    bus = EventBusInmemory(partitions=1, capacity=1000, capacity_bytes=1000, retention=0)
    consumer = _Gated()
    await bus.subscribe(TOPIC, on_message=consumer, group_id="g")
    for i in range(3):  # 900 bytes undelivered: a fourth would make 1200
        await bus.publish(TOPIC, None, _value(i))
    blocked = asyncio.create_task(bus.publish(TOPIC, None, _value(3)))
    await _spin()
    assert not blocked.done()
    assert bus.retained_bytes(TOPIC) == 3 * VALUE

    consumer.gate.set()
    await asyncio.wait_for(blocked, 5)
    await bus.wait_idle()
    assert consumer.received == [_value(i) for i in range(4)]
    await bus.close()


async def test_a_full_bus_refuses_after_the_timeout_and_drops_nothing_undelivered() -> None:
    """Past the byte bound for ``publish_timeout_seconds`` publish raises a retriable
    InfraUnavailableError; every message taken before is still delivered, the refused one not."""
    bus = EventBusInmemory(
        partitions=1, capacity_bytes=1000, retention=0, publish_timeout_seconds=0.05
    )
    consumer = _Gated()
    await bus.subscribe(TOPIC, on_message=consumer, group_id="g")
    for i in range(3):
        await bus.publish(TOPIC, None, _value(i))
    with pytest.raises(InfraUnavailableError, match="event bus full") as refused:
        await bus.publish(TOPIC, None, _value(99))
    assert refused.value.retriable
    assert bus.retained_bytes(TOPIC) == 3 * VALUE

    consumer.gate.set()
    await bus.wait_idle()
    assert consumer.received == [_value(i) for i in range(3)]
    await bus.close()


async def test_a_message_larger_than_capacity_bytes_is_taken_when_nothing_waits() -> None:
    """A group with nothing undelivered takes one message even over ``capacity_bytes`` (it
    fits ``max_message_bytes``), so such a message cannot wait for ever."""
    bus = EventBusInmemory(partitions=1, capacity_bytes=100, publish_timeout_seconds=5)
    consumer = _Gated()
    await bus.subscribe(TOPIC, on_message=consumer, group_id="g")
    await asyncio.wait_for(bus.publish(TOPIC, None, _value(0)), 5)
    consumer.gate.set()
    await bus.wait_idle()
    assert consumer.received == [_value(0)]
    await bus.close()


async def test_headers_and_keys_count_towards_the_bytes() -> None:
    """A message's key and header bytes count, not only its value."""
    bus = EventBusInmemory(partitions=1)
    await bus.publish(TOPIC, b"key", b"value", {"name": "text"})
    assert bus.retained_bytes(TOPIC) == len(b"key") + len(b"value") + len("name") + len("text")


async def test_retention_drops_the_oldest_consumed_messages_by_bytes() -> None:
    """Without consumers a partition keeps only ``retention_bytes`` of the newest messages:
    a new 'earliest' group gets the newest three of ten."""
    bus = EventBusInmemory(partitions=1, retention=10_000, retention_bytes=1000)
    for i in range(10):
        await bus.publish(TOPIC, None, _value(i))
    assert bus.retained_bytes(TOPIC) == 3 * VALUE
    received: list[bytes] = []

    async def record(message: BusMessage) -> None:
        received.append(message.value)

    await bus.subscribe(TOPIC, on_message=record, group_id="late", auto_offset_reset="earliest")
    await bus.wait_idle()
    assert received == [_value(i) for i in range(7, 10)]
    await bus.close()


async def test_retention_by_bytes_never_drops_an_undelivered_message() -> None:
    """With ``retention_bytes`` 0 and a consumer that has taken nothing, every message it has
    not consumed stays retained and is delivered."""
    bus = EventBusInmemory(partitions=1, retention_bytes=0)
    consumer = _Gated()
    await bus.subscribe(TOPIC, on_message=consumer, group_id="g")
    for i in range(5):
        await bus.publish(TOPIC, None, _value(i))
    assert bus.retained_bytes(TOPIC) == 5 * VALUE
    consumer.gate.set()
    await bus.wait_idle()
    assert consumer.received == [_value(i) for i in range(5)]
    await bus.publish(TOPIC, None, _value(5))  # the consumed ones are trimmed on the next one
    await bus.wait_idle()
    assert bus.retained_bytes(TOPIC) <= VALUE
    await bus.close()


async def test_retained_bytes_follow_trimming_by_count_and_the_capacity_bound_after_it() -> None:
    """Records trimmed by the message bound leave the byte count (and so the undelivered-bytes
    bound a new group is held to) exactly at the bytes still retained."""
    bus = EventBusInmemory(
        partitions=1,
        retention=4,
        capacity=100,
        capacity_bytes=5 * VALUE,
        publish_timeout_seconds=0.2,
    )
    for i in range(10):
        await bus.publish(TOPIC, None, _value(i))
    assert bus.retained(TOPIC) == 4
    assert bus.retained_bytes(TOPIC) == 4 * VALUE
    consumer = _Gated()
    await bus.subscribe(TOPIC, on_message=consumer, group_id="g", auto_offset_reset="earliest")
    await bus.publish(TOPIC, None, _value(10))  # 4 undelivered + 1 = 5 * VALUE: still room
    with pytest.raises(InfraUnavailableError):
        await bus.publish(TOPIC, None, _value(11))
    consumer.gate.set()
    await bus.wait_idle()
    assert consumer.received == [_value(i) for i in range(6, 11)]
    await bus.close()


@pytest.mark.parametrize(
    "kwargs",
    [{"capacity_bytes": 0}, {"retention_bytes": -1}, {"publish_timeout_seconds": 0.0}],
)
def test_invalid_byte_bounds_are_refused(kwargs: dict[str, float]) -> None:
    """A byte capacity below one, a negative byte retention or a timeout of zero is refused."""
    with pytest.raises(ProtocolConfigurationError):
        EventBusInmemory(**kwargs)  # type: ignore[arg-type]
