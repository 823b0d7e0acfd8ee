"""How the Kafka member splits a fetched batch by partition before delivering it (delivery.py)."""

from __future__ import annotations

import asyncio

from confluent_kafka import Message, TopicPartition

from omnibase_infra.event_bus.kafka.delivery import KafkaDelivery
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import make_kafka_settings


class _Member(KafkaDelivery):
    """The delivering half alone, with the state the group member would hold."""

    def __init__(self, topics: list[str], seen: list[tuple[str, int, int]]) -> None:
        async def on_message(message: BusMessage) -> None:
            seen.append((message.topic, message.partition, message.offset))

        self._settings = make_kafka_settings("127.0.0.1:1")
        self._callbacks = dict.fromkeys(topics, on_message)
        self.group_id = "split"
        self._stopping = False
        self._stop_event = asyncio.Event()
        self.cut_short = 0
        self.uncommitted = 0
        self._delivered = {}
        self._fetched = {}
        self._parked = {}


def _record(topic: str, partition: int, offset: int) -> Message:
    return Message(
        topic=topic, partition=partition, offset=offset, key=b"k", value=b"v", timestamp=(1, 1)
    )


async def test_interleaved_partitions_and_topics_each_get_their_own_messages_in_order() -> None:
    """A fetch whose runs of one partition interleave (across partitions and topics) delivers
    each partition's messages in offset order and commits each partition past its last one."""
    seen: list[tuple[str, int, int]] = []
    member = _Member(["a", "b"], seen)
    places = [("a", 0), ("a", 1), ("a", 0), ("b", 0), ("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    next_offset: dict[tuple[str, int], int] = {}
    batch = []
    for topic, partition in places:
        offset = next_offset.get((topic, partition), 10)
        next_offset[(topic, partition)] = offset + 1
        batch.append(_record(topic, partition, offset))

    committed = await member._deliver_batch(batch)

    assert sorted((tp.topic, tp.partition, tp.offset) for tp in committed) == [
        ("a", 0, 13),
        ("a", 1, 12),
        ("b", 0, 12),
        ("b", 1, 11),
    ]
    assert all(isinstance(tp, TopicPartition) for tp in committed)
    for place in next_offset:
        offsets = [offset for topic, partition, offset in seen if (topic, partition) == place]
        assert offsets == list(range(10, next_offset[place]))
    assert len(seen) == len(batch)
