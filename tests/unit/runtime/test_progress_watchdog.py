"""Stuck detection: a group with messages waiting that does not move is reported and counted."""

from __future__ import annotations

import asyncio

from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.runtime.progress_watchdog import CHECK_NAME, ConsumerProgressWatchdog

TOPIC = "onex.evt.shop.order-placed.v1"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _stuck_total(group: str) -> float:
    labels = {"topic": TOPIC, "consumer_group": group}
    return REGISTRY.get_sample_value("onex_event_bus_stuck_partitions_total", labels) or 0.0


async def test_a_group_that_holds_a_message_too_long_is_stuck_until_it_moves() -> None:
    """/ready's check names group, topic, partition and offset of a partition whose group has
    lag and has not committed for the bound; it is healthy again once the group moves."""
    bus = EventBusInmemory(partitions=1)
    release = asyncio.Event()
    taken: list[int] = []

    async def slow(message: BusMessage) -> None:
        await release.wait()
        taken.append(message.offset)

    await bus.subscribe(TOPIC, on_message=slow, group_id="slow", auto_offset_reset="earliest")
    clock = _Clock()
    watchdog = ConsumerProgressWatchdog(bus, stuck_after_seconds=30, clock=clock)
    assert watchdog.check().healthy
    before = _stuck_total("slow")
    await bus.publish(TOPIC, b"k", b"first")
    await bus.publish(TOPIC, b"k", b"second")
    await asyncio.sleep(0)  # the delivery starts and waits in the callback
    assert watchdog.check().healthy  # lag seen now: the clock starts here
    clock.now += 29
    assert watchdog.check().healthy
    clock.now += 2
    check = watchdog.check()
    assert check.name == CHECK_NAME
    assert not check.healthy
    assert check.detail is not None
    assert f"group slow stuck on {TOPIC} partition 0 at offset 0 with 2 waiting" in check.detail
    watchdog.check()  # still stuck: counted once
    assert _stuck_total("slow") == before + 1
    release.set()
    await bus.wait_idle()
    assert watchdog.check().healthy
    assert taken == [0, 1]
    await bus.close()


async def test_an_idle_partition_that_gets_work_is_not_stuck_at_once() -> None:
    """A partition idle for long is judged from when its work arrived, not from its last
    commit; a retry group's slack extends its bound."""
    bus = EventBusInmemory(partitions=1)
    release = asyncio.Event()

    async def slow(_: BusMessage) -> None:
        await release.wait()

    await bus.subscribe(TOPIC, on_message=slow, group_id="g.retry", auto_offset_reset="earliest")
    clock = _Clock()
    watchdog = ConsumerProgressWatchdog(
        bus,
        stuck_after_seconds=5,
        slack_seconds=lambda group: 60.0 if group.endswith(".retry") else 0.0,
        clock=clock,
    )
    watchdog.sample()
    clock.now += 3600  # an hour without work
    await bus.publish(TOPIC, b"k", b"due later")
    await asyncio.sleep(0)
    assert watchdog.check().healthy
    clock.now += 30
    assert watchdog.check().healthy  # within the retry group's slack
    clock.now += 40
    assert not watchdog.check().healthy
    release.set()
    await bus.close()
