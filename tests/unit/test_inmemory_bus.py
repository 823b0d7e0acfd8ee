"""EventBusInmemory specifics: partitions and keys, groups, offsets, redelivery, bounds, lifecycle.

Generic publish/subscribe behaviour shared with the Kafka bus lives in the bus contract suites
(core's substrate tests and tests/**/test_bus_contract*.py); this module pins what is specific to
the in-memory implementation or easy to miss there.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from zlib import crc32

import pytest

from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.event_bus.inmemory import PUBLISHES_PER_YIELD, EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import eventually

TOPIC = "onex.evt.demo.thing-happened.v1"


async def _spin(rounds: int = 20) -> None:
    """Let every ready task run a few times (enough for anything not blocked to progress)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _recorder(into: list[BusMessage]) -> Callable[[BusMessage], Awaitable[None]]:
    async def on_message(message: BusMessage) -> None:
        into.append(message)

    return on_message


# -- partitions, keys and order ---------------------------------------------------------------


async def test_a_key_always_maps_to_one_partition_and_keys_spread_out() -> None:
    """Every message of a key lands on the same partition, and different keys use several."""
    bus = EventBusInmemory(partitions=4)
    received: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(received), group_id="g")
    keys = [f"key-{i}".encode() for i in range(12)]
    for seq in range(10):
        for key in keys:
            await bus.publish(TOPIC, key, str(seq).encode())
    await bus.wait_idle()

    partitions: dict[bytes | None, set[int]] = defaultdict(set)
    for message in received:
        partitions[message.key].add(message.partition)
    assert set(partitions) == set(keys)
    assert all(len(parts) == 1 for parts in partitions.values())
    assert len(set().union(*partitions.values())) > 1
    await bus.close()


async def test_messages_without_a_key_are_spread_over_partitions() -> None:
    """Keyless messages are distributed over all partitions rather than piling onto one."""
    bus = EventBusInmemory(partitions=4)
    received: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(received), group_id="g")
    for i in range(40):
        await bus.publish(TOPIC, None, str(i).encode())
    await bus.wait_idle()
    assert Counter(m.partition for m in received) == {0: 10, 1: 10, 2: 10, 3: 10}
    await bus.close()


async def test_offsets_increase_by_one_per_partition() -> None:
    """Each partition numbers its messages 0, 1, 2, ... in the order they were appended."""
    bus = EventBusInmemory(partitions=3)
    received: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(received), group_id="g")
    for i in range(60):
        await bus.publish(TOPIC, f"k{i % 5}".encode(), str(i).encode())
    await bus.wait_idle()
    offsets: dict[int, list[int]] = defaultdict(list)
    by_key: dict[bytes | None, list[tuple[int, int]]] = defaultdict(list)
    for message in received:
        offsets[message.partition].append(message.offset)
        by_key[message.key].append((message.offset, int(message.value)))
    for sequence in offsets.values():
        assert sorted(sequence) == list(range(len(sequence)))
    for arrivals in by_key.values():  # a key's messages arrive in the order they were appended
        assert arrivals == sorted(arrivals)
    await bus.close()


# -- delivery in order per key ----------------------------------------------------------------


async def _slow_recorder(bus: EventBusInmemory) -> tuple[list[BusMessage], list[int]]:
    """Subscribe a callback that holds each message briefly; returns (received, [peak])."""
    received: list[BusMessage] = []
    in_flight: list[int] = []
    peak = [0]

    async def on_message(message: BusMessage) -> None:
        in_flight.append(1)
        peak[0] = max(peak[0], len(in_flight))
        await asyncio.sleep(0.002)
        in_flight.pop()
        received.append(message)

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g", auto_offset_reset="earliest")
    return received, peak


async def test_ready_messages_of_different_keys_are_delivered_together_up_to_the_bound() -> None:
    """A partition delivers up to in_flight_per_partition ready messages of distinct keys."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=8)
    for i in range(40):
        await bus.publish(TOPIC, f"k{i}".encode(), str(i).encode())
    received, peak = await _slow_recorder(bus)
    await bus.wait_idle()
    assert peak == [8]
    assert sorted(m.offset for m in received) == list(range(40))
    assert await bus.get_committed_offset(TOPIC, "g") == 40
    await bus.close()


async def test_one_in_flight_delivers_a_partition_strictly_in_order() -> None:
    """With in_flight_per_partition=1 a partition's messages arrive one at a time, by offset."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=1)
    for i in range(20):
        await bus.publish(TOPIC, f"k{i}".encode(), str(i).encode())
    received, peak = await _slow_recorder(bus)
    await bus.wait_idle()
    assert peak == [1]
    assert [m.offset for m in received] == list(range(20))
    await bus.close()


async def test_messages_arriving_during_a_lone_delivery_still_go_out_together() -> None:
    """A group taking several at once delivers what arrived while its lone message was in its
    callback concurrently across keys, not one at a time after that message."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=8)
    first_done = asyncio.Event()
    rest_done = asyncio.Event()
    started: list[int] = []

    async def on_message(message: BusMessage) -> None:
        started.append(message.offset)
        await (first_done if message.offset == 0 else rest_done).wait()

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    await bus.publish(TOPIC, b"k0", b"0")
    await eventually(lambda: started == [0])
    for i in range(1, 5):
        await bus.publish(TOPIC, f"k{i}".encode(), str(i).encode())
    first_done.set()
    # All four in their callbacks at once: none of them returned yet.
    await eventually(lambda: sorted(started) == [0, 1, 2, 3, 4])
    assert await bus.get_committed_offset(TOPIC, "g") == 1
    rest_done.set()
    await bus.wait_idle()
    assert await bus.get_committed_offset(TOPIC, "g") == 5
    await bus.close()


async def test_messages_of_one_key_are_never_in_flight_together() -> None:
    """However many are ready, a key's next message waits until its previous one returned."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=16)
    busy: set[bytes | None] = set()
    overlaps = 0
    seen: dict[bytes | None, list[int]] = defaultdict(list)

    async def on_message(message: BusMessage) -> None:
        nonlocal overlaps
        overlaps += message.key in busy
        busy.add(message.key)
        await asyncio.sleep(0.001)
        busy.discard(message.key)
        seen[message.key].append(int(message.value))

    for i in range(60):
        await bus.publish(TOPIC, f"k{i % 3}".encode(), str(i).encode())
    await bus.subscribe(TOPIC, on_message=on_message, group_id="g", auto_offset_reset="earliest")
    await bus.wait_idle()
    assert overlaps == 0
    assert {key: values for key, values in seen.items()} == {
        f"k{k}".encode(): list(range(k, 60, 3)) for k in range(3)
    }
    await bus.close()


async def test_a_failing_message_holds_back_only_its_own_key_and_the_commit() -> None:
    """Other keys of the partition go on; the failing key's next message and the commit wait."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=16)
    release = asyncio.Event()
    delivered: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        if message.value == b"stuck-0" and not release.is_set():
            raise RuntimeError("not yet")
        delivered.append(message.value)

    await bus.publish(TOPIC, b"stuck", b"stuck-0")
    await bus.publish(TOPIC, b"stuck", b"stuck-1")
    for i in range(5):
        await bus.publish(TOPIC, f"other-{i}".encode(), f"other-{i}".encode())
    await bus.subscribe(TOPIC, on_message=on_message, group_id="g", auto_offset_reset="earliest")
    await eventually(lambda: len(delivered) == 5, timeout=5.0)
    await _spin()
    assert sorted(delivered) == [f"other-{i}".encode() for i in range(5)]
    assert await bus.get_committed_offset(TOPIC, "g") == 0  # nothing past the stuck message
    release.set()
    await bus.wait_idle()
    assert delivered[5:] == [b"stuck-0", b"stuck-1"]
    assert await bus.get_committed_offset(TOPIC, "g") == 7
    await bus.close()


async def test_leaving_inside_a_callback_while_other_keys_are_in_flight() -> None:
    """A member leaving from a callback waits for its siblings in flight, starts no more, and
    commits what was delivered; a rejoin gets the rest."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=4)
    delivered: list[bytes] = []
    leave: list[Callable[[], Awaitable[None]]] = []

    async def on_message(message: BusMessage) -> None:
        if message.value == b"leave":
            await leave[0]()
        else:
            await asyncio.sleep(0.01)
        delivered.append(message.value)

    for value in (b"slow", b"leave", b"b", b"c", b"d"):
        await bus.publish(TOPIC, value, value)
    leave.append(
        await bus.subscribe(
            TOPIC, on_message=on_message, group_id="g", auto_offset_reset="earliest"
        )
    )
    await eventually(lambda: len(delivered) == 2, timeout=5.0)
    await _spin()
    assert delivered == [b"slow", b"leave"]  # the leaver returned after its sibling
    assert await bus.get_committed_offset(TOPIC, "g") == 2
    rest: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(rest), group_id="g")
    await bus.wait_idle()
    assert sorted(m.value for m in rest) == [b"b", b"c", b"d"]
    await bus.close()


# -- consumer groups --------------------------------------------------------------------------


async def test_group_members_share_partitions_and_take_over_when_one_leaves() -> None:
    """Two members split the partitions (each message once); the survivor gets all afterwards."""
    bus = EventBusInmemory(partitions=4)
    first: list[BusMessage] = []
    second: list[BusMessage] = []
    leave_first = await bus.subscribe(TOPIC, on_message=_recorder(first), group_id="g")
    await bus.subscribe(TOPIC, on_message=_recorder(second), group_id="g")
    for i in range(200):
        await bus.publish(TOPIC, str(i).encode(), str(i).encode())
    await bus.wait_idle()

    values = sorted(int(m.value) for m in first + second)
    assert values == list(range(200))  # every message exactly once across the group
    assert first
    assert second
    assert {m.partition for m in first}.isdisjoint({m.partition for m in second})

    await leave_first()
    before = len(first)
    for i in range(200, 400):
        await bus.publish(TOPIC, str(i).encode(), str(i).encode())
    await bus.wait_idle()
    assert len(first) == before
    assert sorted(int(m.value) for m in second if int(m.value) >= 200) == list(range(200, 400))
    assert len({m.partition for m in second if int(m.value) >= 200}) == 4
    await bus.close()


def _key_of_partition(partition: int, partitions: int) -> bytes:
    """A key the bus maps to ``partition`` of ``partitions``."""
    return next(
        key
        for key in (f"k{i}".encode() for i in range(1000))
        if crc32(key) % partitions == partition
    )


async def test_a_member_joining_inside_a_callback_takes_its_partition_at_the_next_message() -> None:
    """A run of ready messages stops at a join: the partition's next message goes to the
    member that now holds it, not to the one that was delivering."""
    bus = EventBusInmemory(partitions=2, in_flight_per_partition=1)
    first: list[BusMessage] = []
    second: list[BusMessage] = []

    async def first_joins_second(message: BusMessage) -> None:
        first.append(message)
        if len(first) == 1:
            await bus.subscribe(TOPIC, on_message=_recorder(second), group_id="g")

    key = _key_of_partition(1, 2)  # the second member's partition once it joined
    await bus.subscribe(TOPIC, on_message=first_joins_second, group_id="g")
    for i in range(10):
        await bus.publish(TOPIC, key, str(i).encode())  # all ready before the first delivery
    await bus.wait_idle()
    assert [m.value for m in first] == [b"0"]
    assert [m.value for m in second] == [str(i).encode() for i in range(1, 10)]
    await bus.close()


async def test_a_member_leaving_inside_a_callback_gets_no_further_message() -> None:
    """A run of ready messages stops when its member leaves: the partition's next message
    goes to the member that takes the partition over."""
    bus = EventBusInmemory(partitions=2, in_flight_per_partition=1)
    first: list[BusMessage] = []
    second: list[BusMessage] = []
    leave_first: list[Callable[[], Awaitable[None]]] = []

    async def first_leaves(message: BusMessage) -> None:
        first.append(message)
        if len(first) == 1:
            await leave_first[0]()

    key = _key_of_partition(0, 2)  # the first member's partition while both are in
    leave_first.append(await bus.subscribe(TOPIC, on_message=first_leaves, group_id="g"))
    await bus.subscribe(TOPIC, on_message=_recorder(second), group_id="g")
    for i in range(10):
        await bus.publish(TOPIC, key, str(i).encode())  # all ready before the first delivery
    await bus.wait_idle()
    assert [m.value for m in first] == [b"0"]
    assert [m.value for m in second] == [str(i).encode() for i in range(1, 10)]
    await bus.close()


async def test_separate_groups_each_receive_every_message() -> None:
    """Each consumer group gets its own copy of every message."""
    bus = EventBusInmemory(partitions=2)
    one: list[BusMessage] = []
    two: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(one), group_id="one")
    await bus.subscribe(TOPIC, on_message=_recorder(two), group_id="two")
    for i in range(30):
        await bus.publish(TOPIC, None, str(i).encode())
    await bus.wait_idle()
    assert sorted(int(m.value) for m in one) == list(range(30))
    assert sorted(int(m.value) for m in two) == list(range(30))
    await bus.close()


async def test_committed_offsets_survive_leaving_and_rejoin_resumes_there() -> None:
    """A group that leaves keeps its committed offsets; rejoining delivers only what it missed."""
    bus = EventBusInmemory(partitions=3)
    first: list[BusMessage] = []
    leave = await bus.subscribe(
        TOPIC, on_message=_recorder(first), group_id="g", auto_offset_reset="earliest"
    )
    for i in range(30):
        await bus.publish(TOPIC, f"k{i % 7}".encode(), str(i).encode())
    await bus.wait_idle()
    assert await bus.get_committed_offset(TOPIC, "g") == 30
    await leave()

    for i in range(30, 42):
        await bus.publish(TOPIC, f"k{i % 7}".encode(), str(i).encode())
    assert await bus.get_committed_offset(TOPIC, "g") == 30

    second: list[BusMessage] = []
    # 'earliest' is ignored: the group has commits, so it resumes from them.
    await bus.subscribe(
        TOPIC, on_message=_recorder(second), group_id="g", auto_offset_reset="earliest"
    )
    await bus.wait_idle()
    assert sorted(int(m.value) for m in second) == list(range(30, 42))
    assert await bus.get_committed_offset(TOPIC, "g") == 42
    assert await bus.get_committed_offset(TOPIC, "unknown-group") is None
    assert await bus.get_committed_offset("onex.evt.demo.never-used.v1", "g") is None
    await bus.close()


async def test_earliest_starts_at_the_oldest_retained_message() -> None:
    """A new 'earliest' group replays only what retention kept; 'latest' only what comes next."""
    bus = EventBusInmemory(partitions=1, retention=5)
    for i in range(20):
        await bus.publish(TOPIC, None, str(i).encode())
    assert bus.retained(TOPIC) == 5

    early: list[BusMessage] = []
    late: list[BusMessage] = []
    await bus.subscribe(
        TOPIC, on_message=_recorder(early), group_id="early", auto_offset_reset="earliest"
    )
    await bus.subscribe(
        TOPIC, on_message=_recorder(late), group_id="late", auto_offset_reset="latest"
    )
    await bus.wait_idle()
    assert [int(m.value) for m in early] == [15, 16, 17, 18, 19]
    assert [m.offset for m in early] == [15, 16, 17, 18, 19]
    assert late == []

    await bus.publish(TOPIC, None, b"20")
    await bus.wait_idle()
    assert [int(m.value) for m in late] == [20]
    assert [int(m.value) for m in early][-1] == 20
    await bus.close()


# -- redelivery -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["raise", "nack"])
async def test_failing_message_is_retried_with_backoff_not_in_a_tight_loop(mode: str) -> None:
    """A message that always fails is retried a few times in a short window, not thousands."""
    bus = EventBusInmemory(partitions=1)
    attempts = 0
    offsets: set[tuple[int, int]] = set()

    async def on_message(message: BusMessage) -> None:
        nonlocal attempts
        attempts += 1
        offsets.add((message.partition, message.offset))
        if mode == "raise":
            raise RuntimeError("always fails")
        await message.nack()

    leave = await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    await bus.publish(TOPIC, None, b"poison")
    await asyncio.sleep(0.3)  # an observation window, not an assertion about time
    await leave()
    # Growing delays from 10 ms give ~5 attempts in the window; a tight loop gives thousands.
    assert 2 <= attempts <= 20
    assert offsets == {(0, 0)}  # every attempt is the same record
    assert await bus.get_committed_offset(TOPIC, "g") == 0
    await bus.close()


async def test_a_failing_partition_does_not_block_other_partitions() -> None:
    """While one partition retries a poison message, the others keep delivering."""
    bus = EventBusInmemory(partitions=2)
    delivered: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        if message.value == b"poison":
            raise RuntimeError("poison")
        delivered.append(message.value)

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    poison_key = b"k0"
    poison_partition = await _partition_of(poison_key, 2)
    other_key = b""
    for i in range(1, 50):
        other_key = f"k{i}".encode()
        if await _partition_of(other_key, 2) != poison_partition:
            break
    await bus.publish(TOPIC, poison_key, b"poison")
    for i in range(10):
        await bus.publish(TOPIC, other_key, str(i).encode())
    await eventually(lambda: len(delivered) == 10, timeout=5.0)
    assert delivered == [str(i).encode() for i in range(10)]
    await bus.close()


async def _partition_of(key: bytes, partitions: int) -> int:
    """The partition a key maps to, found by publishing it on a throwaway bus."""
    bus = EventBusInmemory(partitions=partitions)
    seen: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(seen), group_id="probe")
    await bus.publish(TOPIC, key, b"probe")
    await bus.wait_idle()
    await bus.close()
    return seen[0].partition


# -- bounded memory and backpressure ----------------------------------------------------------


async def test_publish_waits_while_a_group_lags_capacity() -> None:
    """With a group ``capacity`` messages behind, publish waits until the group catches up."""
    bus = EventBusInmemory(partitions=1, capacity=4, retention=0)
    gate = asyncio.Event()
    received: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        await gate.wait()
        received.append(message.value)

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    for i in range(4):
        await bus.publish(TOPIC, None, str(i).encode())
    blocked = asyncio.create_task(bus.publish(TOPIC, None, b"4"))
    await _spin()
    assert not blocked.done()
    assert (await bus.health_check())["pending_messages"] == 4

    gate.set()
    await asyncio.wait_for(blocked, 5)
    await bus.wait_idle()
    assert received == [b"0", b"1", b"2", b"3", b"4"]
    await bus.close()


async def test_memory_stays_within_retention_plus_capacity_with_a_slow_consumer() -> None:
    """A slow consumer never lets a partition hold more than retention + capacity messages."""
    retention, capacity = 4, 16
    bus = EventBusInmemory(partitions=1, capacity=capacity, retention=retention)
    received: list[bytes] = []

    async def slow(message: BusMessage) -> None:
        await asyncio.sleep(0.0005)
        received.append(message.value)

    await bus.subscribe(TOPIC, on_message=slow, group_id="g")
    high_water = 0
    for i in range(300):
        await bus.publish(TOPIC, None, str(i).encode())
        high_water = max(high_water, bus.retained(TOPIC))
    await bus.wait_idle()
    assert high_water <= retention + capacity
    assert high_water > retention  # the lag really was held in memory beyond retention
    assert [int(v) for v in received] == list(range(300))
    await bus.close()


async def test_memory_is_bounded_per_partition_over_many_partitions() -> None:
    """The bound is per partition: a topic holds at most partitions x (retention + capacity)."""
    retention, capacity, partitions = 10, 5, 3
    bus = EventBusInmemory(partitions=partitions, capacity=capacity, retention=retention)

    async def slow(message: BusMessage) -> None:
        await asyncio.sleep(0.0005)

    await bus.subscribe(TOPIC, on_message=slow, group_id="g")
    high_water = 0
    for i in range(300):
        await bus.publish(TOPIC, f"k{i % 11}".encode(), b"x")
        high_water = max(high_water, bus.retained(TOPIC))
    await bus.wait_idle()
    assert high_water <= partitions * (retention + capacity)
    await bus.close()


async def test_without_consumers_publish_never_waits_and_retention_bounds_memory() -> None:
    """With no active group nothing holds producers back and only ``retention`` is kept."""
    bus = EventBusInmemory(partitions=2, capacity=2, retention=7)
    for i in range(500):
        await bus.publish(TOPIC, None, str(i).encode())
    assert bus.retained(TOPIC) <= 2 * 7


async def test_a_group_that_left_no_longer_holds_producers_back() -> None:
    """Only active groups apply backpressure: after leaving, publishing past capacity proceeds."""
    bus = EventBusInmemory(partitions=1, capacity=3, retention=3)
    leave = await bus.subscribe(TOPIC, on_message=_recorder([]), group_id="g")
    await leave()
    await asyncio.wait_for(_publish_many(bus, 50), 5)
    assert bus.retained(TOPIC) <= 3


async def _publish_many(bus: EventBusInmemory, count: int) -> None:
    for i in range(count):
        await bus.publish(TOPIC, None, str(i).encode())


# -- leaving and closing ----------------------------------------------------------------------


async def test_unsubscribe_waits_for_the_in_flight_message_and_commits_it() -> None:
    """Leaving returns only after the in-flight callback finished; that message is committed."""
    bus = EventBusInmemory(partitions=1)
    entered, gate = asyncio.Event(), asyncio.Event()
    finished: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        entered.set()
        await gate.wait()
        finished.append(message.value)

    leave = await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    other: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(other), group_id="witness")
    await bus.publish(TOPIC, None, b"x")
    await entered.wait()

    leaving = asyncio.create_task(leave())
    await _spin()
    assert not leaving.done()
    gate.set()
    await asyncio.wait_for(leaving, 5)
    assert finished == [b"x"]
    assert await bus.get_committed_offset(TOPIC, "g") == 1

    await bus.publish(TOPIC, None, b"y")
    await bus.wait_idle()  # the witness group consumed it ...
    assert [m.value for m in other] == [b"x", b"y"]
    assert finished == [b"x"]  # ... the group that left did not
    await bus.close()


async def test_unsubscribe_from_inside_the_callback_does_not_deadlock() -> None:
    """A subscriber may leave from its own callback; the message is committed, rejoin resumes."""
    bus = EventBusInmemory(partitions=1)
    log: list[bytes] = []
    leave: Callable[[], Awaitable[None]] | None = None

    async def on_message(message: BusMessage) -> None:
        log.append(message.value)
        if message.value == b"stop":
            assert leave is not None
            await leave()
            log.append(b"left")

    leave = await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    for value in (b"a", b"stop", b"b"):
        await bus.publish(TOPIC, None, value)
    await eventually(lambda: b"left" in log, timeout=5.0)
    await _spin()
    assert log == [b"a", b"stop", b"left"]
    assert await bus.get_committed_offset(TOPIC, "g") == 2

    rejoined: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(rejoined), group_id="g")
    await eventually(lambda: len(rejoined) == 1, timeout=5.0)
    await bus.wait_idle()
    assert [m.value for m in rejoined] == [b"b"]
    await asyncio.wait_for(bus.close(), 5)


async def test_close_waits_for_in_flight_work_then_refuses_publish_and_subscribe() -> None:
    """close() finishes in-flight callbacks, then publish and subscribe raise until start()."""
    bus = EventBusInmemory(partitions=2)
    entered, gate = asyncio.Event(), asyncio.Event()
    finished: list[bytes] = []

    async def on_message(message: BusMessage) -> None:
        entered.set()
        await gate.wait()
        finished.append(message.value)

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    await bus.publish(TOPIC, None, b"x")
    await entered.wait()
    closing = asyncio.create_task(bus.close())
    await _spin()
    assert not closing.done()
    gate.set()
    await asyncio.wait_for(closing, 5)
    assert finished == [b"x"]

    health = await bus.health_check()
    assert health["healthy"] is False
    assert health["status"] == "closed"
    with pytest.raises(InfraUnavailableError):
        await bus.publish(TOPIC, None, b"late")
    with pytest.raises(InfraUnavailableError):
        await bus.subscribe(TOPIC, on_message=_recorder([]), group_id="g2")

    await bus.start()
    assert (await bus.health_check())["healthy"] is True
    await bus.publish(TOPIC, None, b"again")
    await bus.close()


async def test_close_from_inside_a_callback_does_not_deadlock() -> None:
    """A callback that closes the bus (a shutdown triggered by a message) returns normally."""
    bus = EventBusInmemory(partitions=1)
    done = asyncio.Event()

    async def on_message(message: BusMessage) -> None:
        await bus.close()
        done.set()

    await bus.subscribe(TOPIC, on_message=on_message, group_id="g")
    await bus.publish(TOPIC, None, b"shutdown")
    await asyncio.wait_for(done.wait(), 5)
    assert (await bus.health_check())["healthy"] is False


# -- headers and input checks -----------------------------------------------------------------


async def test_each_delivery_gets_its_own_copy_of_the_headers() -> None:
    """A subscriber mutating headers, or the publisher reusing its dict, changes no other copy."""
    bus = EventBusInmemory(partitions=1)
    seen: list[dict[str, str]] = []

    async def mutating(message: BusMessage) -> None:
        message.headers["x-mutated"] = "yes"

    async def observing(message: BusMessage) -> None:
        seen.append(dict(message.headers))

    await bus.subscribe(TOPIC, on_message=mutating, group_id="first")
    await bus.subscribe(TOPIC, on_message=observing, group_id="second")
    headers = {"onex-correlation-id": "c-1"}
    await bus.publish(TOPIC, None, b"x", headers)
    headers["onex-correlation-id"] = "changed"
    await bus.wait_idle()
    assert seen == [{"onex-correlation-id": "c-1"}]
    await bus.close()


async def test_header_view_shows_the_published_headers_then_the_messages_own_copy() -> None:
    """``header_view`` (read without copying) shows the published headers; once a subscriber
    changed its message's headers it shows that message's copy, and a redelivery (or another
    group) again sees the headers as published."""
    bus = EventBusInmemory(partitions=1)
    views: list[dict[str, str]] = []
    others: list[dict[str, str]] = []

    async def mutating_then_nacking(message: BusMessage) -> None:
        views.append(dict(message.header_view))
        message.headers["x-mutated"] = "yes"
        views.append(dict(message.header_view))
        if len(views) == 2:
            await message.nack()

    async def observing(message: BusMessage) -> None:
        others.append(dict(message.header_view))

    await bus.subscribe(TOPIC, on_message=mutating_then_nacking, group_id="first")
    await bus.subscribe(TOPIC, on_message=observing, group_id="second")
    await bus.publish(TOPIC, None, b"x", {"onex-correlation-id": "c-1"})
    await bus.wait_idle()
    published = {"onex-correlation-id": "c-1"}
    mutated = {**published, "x-mutated": "yes"}
    assert views == [published, mutated, published, mutated]
    assert others == [published]
    await bus.close()


@pytest.mark.parametrize(
    "kwargs",
    [{"partitions": 0}, {"capacity": 0}, {"retention": -1}, {"in_flight_per_partition": 0}],
)
def test_invalid_bounds_are_refused(kwargs: dict[str, int]) -> None:
    """Partitions, capacity or in-flight below one, or negative retention, are refused."""
    with pytest.raises(ProtocolConfigurationError):
        EventBusInmemory(**kwargs)


async def test_invalid_topic_and_subscription_arguments_are_refused() -> None:
    """A topic outside the grammar, a missing callback or a missing group raise typed errors."""
    bus = EventBusInmemory()
    with pytest.raises(ProtocolConfigurationError):
        await bus.publish("orders.created", None, b"x")
    with pytest.raises(ProtocolConfigurationError):
        await bus.subscribe("orders.created", on_message=_recorder([]), group_id="g")
    with pytest.raises(ProtocolConfigurationError):
        await bus.subscribe(TOPIC, group_id="g")
    with pytest.raises(ProtocolConfigurationError):
        await bus.subscribe(TOPIC, on_message=_recorder([]))
    await bus.close()


async def test_a_subscription_can_ask_for_fewer_in_flight_than_the_bus() -> None:
    """subscribe(in_flight_per_partition=1) delivers that group strictly in order; 0 is refused."""
    bus = EventBusInmemory(partitions=1, in_flight_per_partition=16)
    for i in range(10):
        await bus.publish(TOPIC, f"k{i}".encode(), str(i).encode())
    in_flight: list[int] = []
    peak = 0
    received: list[int] = []

    async def on_message(message: BusMessage) -> None:
        nonlocal peak
        in_flight.append(1)
        peak = max(peak, len(in_flight))
        await asyncio.sleep(0.001)
        in_flight.pop()
        received.append(message.offset)

    await bus.subscribe(
        TOPIC,
        on_message=on_message,
        group_id="g",
        auto_offset_reset="earliest",
        in_flight_per_partition=1,
    )
    await bus.wait_idle()
    assert (peak, received) == (1, list(range(10)))
    with pytest.raises(ProtocolConfigurationError):
        await bus.subscribe(TOPIC, on_message=on_message, group_id="h", in_flight_per_partition=0)
    await bus.close()


async def test_a_publisher_in_a_loop_lets_consumers_on_its_loop_run_before_capacity() -> None:
    """A publisher that always finds room still yields to the loop, so a consumer on it gets
    messages long before the publisher could run ``capacity`` ahead."""
    bus = EventBusInmemory(partitions=1, capacity=1024)
    received: list[BusMessage] = []
    await bus.subscribe(TOPIC, on_message=_recorder(received), group_id="g")
    seen_during_loop = 0
    for i in range(1000):
        await bus.publish(TOPIC, None, str(i).encode())
        seen_during_loop = len(received)
    assert seen_during_loop > 0
    await bus.wait_idle()
    assert [int(m.value) for m in received] == list(range(1000))
    await bus.close()


async def test_a_publish_cancelled_at_its_yield_has_published_nothing() -> None:
    """The periodic yield comes before the message is taken: cancelled there, it is not
    published (the publisher's CancelledError means what it says)."""
    bus = EventBusInmemory(partitions=1)
    for i in range(PUBLISHES_PER_YIELD - 1):
        await bus.publish(TOPIC, None, str(i).encode())
    assert bus.retained(TOPIC) == PUBLISHES_PER_YIELD - 1
    yielding = asyncio.create_task(bus.publish(TOPIC, None, b"cancelled"))
    await asyncio.sleep(0)  # the task runs up to its yield
    yielding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await yielding
    assert bus.retained(TOPIC) == PUBLISHES_PER_YIELD - 1
    await bus.publish(TOPIC, None, b"next")
    assert bus.retained(TOPIC) == PUBLISHES_PER_YIELD
    await bus.close()
