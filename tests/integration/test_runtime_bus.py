"""The in-memory bus under the runtime, through real contracts (orchestrator -> event ->
reducer -> intent -> effect): order per key end to end, backpressure that bounds memory when
the last node is slow, and the correlation id carried across publish -> dispatch -> publish."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import UUID, uuid4

import pytest
from runtime_support import (
    RecordingSink,
    in_memory_bus,
    node_config,
    publish_start_job,
    running_host,
)
from runtime_testnodes.topics import TOPIC_JOB_STARTED, TOPIC_RECORD_JOB, TOPIC_START_JOB

from omnibase_infra.event_bus.codec import JsonEnvelope, decode_envelope
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import eventually

pytestmark = pytest.mark.integration

KEYS = [f"key-{i}" for i in range(6)]


async def test_order_per_key_is_kept_from_the_first_publish_to_the_last_node() -> None:
    """Commands of several keys, interleaved, reach the effect in per-key order through two
    hops, and the reducer's per-key count matches the sequence."""
    sink = RecordingSink()
    per_key = 40
    async with running_host(
        node_config(event_bus={"retry": None, "partitions": 4}), sink=sink
    ) as host:
        bus = in_memory_bus(host)
        for seq in range(per_key):
            for key in KEYS:
                await publish_start_job(bus, key=key, seq=seq)
        total = per_key * len(KEYS)
        await eventually(lambda: len(sink.recorded) == total, f"{total} recorded jobs")
    arrivals: dict[str, list[int]] = defaultdict(list)
    for recorded in sink.recorded:
        arrivals[recorded.job.key].append(recorded.job.seq)
        assert recorded.job.count == recorded.job.seq + 1
    assert arrivals == {key: list(range(per_key)) for key in KEYS}


async def test_a_slow_node_holds_producers_back_and_memory_stays_bounded() -> None:
    """With a slow effect, every topic of the chain keeps at most partitions x capacity
    messages in memory, the producer is held back instead of racing ahead, and nothing is
    lost."""
    partitions, capacity, total = 2, 8, 300
    config = node_config(
        event_bus={"retry": None, "partitions": partitions, "capacity": capacity, "retention": 0}
    )
    sink = RecordingSink(delay=0.002)
    topics = (TOPIC_START_JOB, TOPIC_JOB_STARTED, TOPIC_RECORD_JOB)
    peak = dict.fromkeys(topics, 0)
    async with running_host(config, sink=sink) as host:
        bus = in_memory_bus(host)

        async def produce() -> int:
            for seq in range(total):
                await publish_start_job(bus, key=KEYS[seq % len(KEYS)], seq=seq)
            return len(sink.recorded)  # what the slow node had done when the producer finished

        async def watch() -> None:
            while True:
                for topic in topics:
                    peak[topic] = max(peak[topic], bus.retained(topic))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        recorded_when_produced = await produce()
        await eventually(lambda: len(sink.recorded) == total, f"{total} recorded jobs")
        watcher.cancel()
    bound = partitions * capacity
    assert all(0 < peak[topic] <= bound for topic in topics), peak
    # Without backpressure the producer would finish with (almost) nothing recorded: it could
    # only get ahead by what the three topics hold.
    assert recorded_when_produced >= total - len(topics) * bound
    assert sorted(r.job.seq for r in sink.recorded) == list(range(total))


async def test_the_byte_bound_from_the_config_holds_producers_back_and_loses_nothing() -> None:
    """With event_bus.capacity_bytes and retention_bytes set in the runtime config (and the
    message bound far away), a slow node keeps each topic within partitions x capacity_bytes
    of retained bytes, the producer waits, and every job is recorded."""
    partitions, capacity_bytes, total = 2, 2048, 200
    config = node_config(
        event_bus={
            "retry": None,
            "partitions": partitions,
            "capacity": 10_000,
            "capacity_bytes": capacity_bytes,
            "retention_bytes": 0,
        }
    )
    sink = RecordingSink(delay=0.002)
    topics = (TOPIC_START_JOB, TOPIC_JOB_STARTED, TOPIC_RECORD_JOB)
    peak = dict.fromkeys(topics, 0)
    async with running_host(config, sink=sink) as host:
        bus = in_memory_bus(host)

        async def watch() -> None:
            while True:
                for topic in topics:
                    peak[topic] = max(peak[topic], bus.retained_bytes(topic))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        for seq in range(total):
            await publish_start_job(bus, key=KEYS[seq % len(KEYS)], seq=seq)
        await eventually(lambda: len(sink.recorded) == total, f"{total} recorded jobs")
        watcher.cancel()
    assert all(0 < peak[topic] <= partitions * capacity_bytes for topic in topics), peak
    assert sorted(r.job.seq for r in sink.recorded) == list(range(total))


async def test_correlation_id_is_carried_across_publish_dispatch_publish() -> None:
    """The command's correlation id is on the event the orchestrator published and on the
    intent the reducer emitted, and each message names the envelope that caused it."""
    sink = RecordingSink()
    events: list[JsonEnvelope] = []

    async def observe(message: BusMessage) -> None:
        events.append(decode_envelope(message.value))

    async with running_host(sink=sink) as host:
        bus = in_memory_bus(host)
        await bus.subscribe(
            TOPIC_JOB_STARTED, on_message=observe, group_id="observer", auto_offset_reset="earliest"
        )
        correlation_id = uuid4()
        command = await publish_start_job(bus, key="c", correlation_id=correlation_id)
        await eventually(lambda: sink.recorded and events, "the event and the intent")
    (event,) = events
    (recorded,) = sink.recorded
    assert event.correlation_id == correlation_id
    assert event.parent_envelope_id == command.envelope_id
    assert recorded.correlation_id == correlation_id
    assert recorded.parent_envelope_id == event.envelope_id


async def test_a_command_without_correlation_id_gets_one_that_follows_the_chain() -> None:
    """A command published without a correlation id gets a generated one at dispatch, and the
    event and intent it causes all carry that same id."""
    sink = RecordingSink()
    events: list[JsonEnvelope] = []

    async def observe(message: BusMessage) -> None:
        events.append(decode_envelope(message.value))

    async with running_host(sink=sink) as host:
        bus = in_memory_bus(host)
        await bus.subscribe(
            TOPIC_JOB_STARTED, on_message=observe, group_id="observer", auto_offset_reset="earliest"
        )
        command = await publish_start_job(bus, key="n")
        await eventually(lambda: sink.recorded and events, "the event and the intent")
    assert command.correlation_id is None
    (event,) = events
    (recorded,) = sink.recorded
    assert isinstance(event.correlation_id, UUID)
    assert recorded.correlation_id == event.correlation_id
