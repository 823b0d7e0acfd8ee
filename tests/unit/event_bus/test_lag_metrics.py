"""Consumer lag exported per topic, consumer group and partition, read from the live bus."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.metrics import REGISTRY

TOPIC = "onex.evt.shop.order-placed.v1"


async def test_lag_counts_the_messages_a_group_has_yet_to_take_until_it_takes_them() -> None:
    """While a subscriber holds the first of three messages the group's lag on the partition
    is 3 (the held one is not taken yet); once it lets go the lag is 0."""
    bus = EventBusInmemory(partitions=1)
    group = f"lag-{uuid4().hex[:8]}"
    release = asyncio.Event()

    async def slow(message: BusMessage) -> None:
        await release.wait()

    await bus.subscribe(TOPIC, on_message=slow, group_id=group, auto_offset_reset="earliest")
    labels = {"topic": TOPIC, "consumer_group": group, "partition": "0"}
    for value in (b"1", b"2", b"3"):
        await bus.publish(TOPIC, b"k", value)
    await asyncio.sleep(0)
    held = REGISTRY.get_sample_value("onex_consumer_lag_messages", labels)
    release.set()
    await bus.wait_idle()
    assert held == 3
    assert REGISTRY.get_sample_value("onex_consumer_lag_messages", labels) == 0
    await bus.close()
