"""Our own behavioural bus suite, run against EventBusInmemory and EventBusKafka alike.

Ordering per key, consumer groups sharing partitions, handing partitions on when a member
leaves, rejoining from the committed offset, redelivery after a raising or nacking callback,
and bounded in-flight work, one message per key at a time, under a slow subscriber.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest

from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import TopicFactory, eventually

PARTITIONS = 4
IN_FLIGHT = 16  # both buses' default in_flight_per_partition


@pytest.fixture
def bus(any_bus: EventBusBase) -> EventBusBase:
    """Each bus in turn (EventBusInmemory, EventBusKafka), four partitions per topic."""
    return any_bus


async def test_order_is_kept_per_key(bus: EventBusBase, unique_topic: TopicFactory) -> None:
    """Messages with the same key arrive in the order they were published."""
    topic = unique_topic()
    seen: dict[bytes, list[int]] = defaultdict(list)

    async def on_message(message: BusMessage) -> None:
        assert message.key is not None
        seen[message.key].append(int(message.value))

    await bus.subscribe(topic, on_message=on_message, group_id="order")
    keys = [f"key-{i}".encode() for i in range(6)]
    for n in range(30):
        for key in keys:
            await bus.publish(topic, key, str(n).encode())
    await eventually(lambda: sum(len(v) for v in seen.values()) == 30 * len(keys))
    assert all(seen[key] == list(range(30)) for key in keys)


async def test_batch_arrives_whole_in_order_with_its_headers(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """publish_batch returns once every record is on the bus; per key they arrive in order."""
    topic = unique_topic()
    seen: list[tuple[bytes | None, bytes, str]] = []

    async def on_message(message: BusMessage) -> None:
        seen.append((message.key, message.value, message.headers.get("n", "")))

    await bus.subscribe(topic, on_message=on_message, group_id="batch")
    records = [(b"k", str(n).encode(), {"n": str(n)}) for n in range(200)]
    await bus.publish_batch(topic, records)
    await bus.publish_batch(topic, [])  # nothing to send is not an error
    await eventually(lambda: len(seen) == len(records))
    assert seen == [(key, value, headers["n"]) for key, value, headers in records]


async def test_group_members_share_partitions_without_duplicates(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """Two members of one group split the messages between them, each delivered once."""
    topic = unique_topic()
    first: list[bytes] = []
    second: list[bytes] = []

    async def on_first(message: BusMessage) -> None:
        first.append(message.value)

    async def on_second(message: BusMessage) -> None:
        second.append(message.value)

    await bus.subscribe(topic, on_message=on_first, group_id="shared")
    await bus.subscribe(topic, on_message=on_second, group_id="shared")
    if isinstance(bus, EventBusKafka):
        # The first member's assignment changes when the second joins: wait for it to settle.
        await eventually(lambda: sum(len(m.assigned) for m in bus.members) == PARTITIONS)
    values = [str(i).encode() for i in range(80)]
    for value in values:
        await bus.publish(topic, value, value)
    await eventually(lambda: len(first) + len(second) == len(values))
    await asyncio.sleep(0.3)  # a duplicate would arrive now
    assert Counter(first + second) == Counter(values)
    assert first
    assert second


async def test_leaving_member_hands_its_partitions_on(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """After one member of a group leaves, the remaining member receives every message."""
    topic = unique_topic()
    stayed: list[bytes] = []
    left: list[bytes] = []

    async def on_stay(message: BusMessage) -> None:
        stayed.append(message.value)

    async def on_leave(message: BusMessage) -> None:
        left.append(message.value)

    await bus.subscribe(topic, on_message=on_stay, group_id="handover")
    leave = await bus.subscribe(topic, on_message=on_leave, group_id="handover")
    await leave()
    if isinstance(bus, EventBusKafka):
        await eventually(lambda: sum(len(m.assigned) for m in bus.members) == PARTITIONS)
    values = [str(i).encode() for i in range(40)]
    for value in values:
        await bus.publish(topic, value, value)
    await eventually(lambda: len(stayed) == len(values))
    assert sorted(stayed) == sorted(values)
    assert left == []


async def test_rejoin_resumes_after_the_last_commit(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A group that leaves and rejoins receives exactly what was published in between."""
    topic = unique_topic()
    before: list[bytes] = []
    after: list[bytes] = []

    async def on_before(message: BusMessage) -> None:
        before.append(message.value)

    async def on_after(message: BusMessage) -> None:
        after.append(message.value)

    leave = await bus.subscribe(topic, on_message=on_before, group_id="rejoin")
    for i in range(5):
        await bus.publish(topic, b"k", f"a{i}".encode())
    await eventually(lambda: len(before) == 5)
    await leave()
    for i in range(3):
        await bus.publish(topic, b"k", f"b{i}".encode())
    await bus.subscribe(topic, on_message=on_after, group_id="rejoin", auto_offset_reset="earliest")
    await eventually(lambda: len(after) == 3)
    await asyncio.sleep(0.3)
    assert after == [b"b0", b"b1", b"b2"]


async def test_raising_callback_gets_the_message_again(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A callback that raises is redelivered the same message until it succeeds, then the next."""
    topic = unique_topic()
    calls: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        calls.append(message.value)
        if message.value == b"flaky" and calls.count(b"flaky") < 3:
            raise RuntimeError("transient failure")

    await bus.subscribe(topic, on_message=on_message, group_id="redeliver")
    for value in (b"before", b"flaky", b"after"):
        await bus.publish(topic, b"same-key", value)
    await eventually(lambda: b"after" in calls)
    assert calls == [b"before", b"flaky", b"flaky", b"flaky", b"after"]


async def test_nacked_message_is_redelivered(bus: EventBusBase, unique_topic: TopicFactory) -> None:
    """A callback that nacks gets the same message again instead of a commit."""
    topic = unique_topic()
    calls: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        calls.append(message.value)
        if len(calls) == 1:
            await message.nack()

    await bus.subscribe(topic, on_message=on_message, group_id="nack")
    await bus.publish(topic, b"k", b"only")
    await eventually(lambda: len(calls) == 2)
    assert calls == [b"only", b"only"]


async def test_slow_subscriber_holds_a_bounded_number_one_per_key(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """Under a slow subscriber, callbacks in flight stay within in_flight_per_partition per
    partition, go beyond one per partition when keys differ, and never overlap for one key."""
    topic = unique_topic()
    busy: set[bytes | None] = set()
    overlaps = 0
    peak = 0
    seen: dict[bytes | None, list[int]] = defaultdict(list)

    async def on_message(message: BusMessage) -> None:
        nonlocal overlaps, peak
        overlaps += message.key in busy
        busy.add(message.key)
        peak = max(peak, len(busy))
        await asyncio.sleep(0.005)
        busy.discard(message.key)
        seen[message.key].append(int(message.value))

    keys = [f"key-{k}".encode() for k in range(40)]
    for n in range(5):
        await asyncio.gather(*(bus.publish(topic, key, str(n).encode()) for key in keys))
    await bus.subscribe(topic, on_message=on_message, group_id="slow", auto_offset_reset="earliest")
    await eventually(lambda: sum(len(v) for v in seen.values()) == 200, timeout=60)
    assert overlaps == 0
    assert PARTITIONS < peak <= PARTITIONS * IN_FLIGHT
    assert all(seen[key] == list(range(5)) for key in keys)


async def test_one_in_flight_keeps_each_partition_in_offset_order(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A group subscribed with in_flight_per_partition=1 holds at most one message per
    partition and sees each partition's offsets in order."""
    topic = unique_topic()
    inflight = 0
    peak = 0
    offsets: dict[int, list[int]] = defaultdict(list)

    async def on_message(message: BusMessage) -> None:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.002)
        inflight -= 1
        offsets[message.partition].append(message.offset)

    for n in range(80):
        await bus.publish(topic, f"key-{n}".encode(), b"x")
    await bus.subscribe(
        topic,
        on_message=on_message,
        group_id="strict",
        auto_offset_reset="earliest",
        in_flight_per_partition=1,
    )
    await eventually(lambda: sum(len(v) for v in offsets.values()) == 80, timeout=60)
    assert 1 <= peak <= PARTITIONS
    assert all(seen == sorted(seen) for seen in offsets.values())


async def test_leaving_from_inside_the_callback_commits_that_message(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A subscriber leaving from its own callback stops there; a rejoin resumes after it."""
    topic = unique_topic()
    log: list[bytes] = []
    leave: list[Unsubscribe] = []

    async def on_message(message: BusMessage) -> None:
        log.append(message.value)
        if message.value == b"stop":
            await leave[0]()
            log.append(b"left")

    leave.append(await bus.subscribe(topic, on_message=on_message, group_id="leave-inside"))
    for value in (b"a", b"stop", b"b"):
        await bus.publish(topic, b"k", value)
    await eventually(lambda: b"left" in log)
    rejoined: list[bytes] = []

    async def on_rejoin(message: BusMessage) -> None:
        rejoined.append(message.value)

    await bus.subscribe(topic, on_message=on_rejoin, group_id="leave-inside")
    await eventually(lambda: rejoined)
    await asyncio.sleep(0.3)
    assert log == [b"a", b"stop", b"left"]
    assert rejoined == [b"b"]


async def test_closing_the_bus_from_inside_a_callback_returns(
    bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """A callback that closes the bus (a shutdown triggered by a message) completes."""
    topic = unique_topic()
    done = asyncio.Event()

    async def on_message(message: BusMessage) -> None:
        await bus.close()
        done.set()

    await bus.subscribe(topic, on_message=on_message, group_id="close-inside")
    await bus.publish(topic, None, b"shutdown")
    await asyncio.wait_for(done.wait(), 20)
    assert (await bus.health_check())["healthy"] is False
