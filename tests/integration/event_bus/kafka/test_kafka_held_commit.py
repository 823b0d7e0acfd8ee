"""The Kafka member's commits that follow the next fetch, on a real Tansu broker."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from omnibase_infra.event_bus.kafka.consumer import KafkaGroupMember
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import TopicFactory

pytestmark = pytest.mark.integration


async def _ignore(_message: BusMessage) -> None:
    return None


def test_a_rebalance_inside_the_fetch_commits_the_batches_not_yet_committed(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory
) -> None:
    """A revoke served by the worker's fetch commits, before the partitions go, the delivered
    batch held for commit and the batch still out on the loop once the loop delivered it, and
    drops the batch fetched ahead."""
    topic = unique_topic()
    producer = Producer(kafka_settings.producer_config())
    for n in range(3):
        producer.produce(topic, b"v%d" % n, b"k")
    assert producer.flush(30) == 0
    member = KafkaGroupMember(kafka_settings, {topic: _ignore}, "held-commit", "earliest")
    consumer = Consumer(kafka_settings.consumer_config("held-commit", "earliest"))
    try:
        partitions = [TopicPartition(topic, p, 0) for p in range(4)]
        consumer.assign(partitions)
        member._held = [TopicPartition(topic, 0, 1), TopicPartition(topic, 1, 2)]
        out: Future[list[TopicPartition]] = Future()
        member._out = out  # a batch the loop is delivering while the worker fetches ahead
        member._prefetched = [Message(topic=topic, partition=2, offset=3, value=b"ahead")]
        delivered = threading.Thread(
            target=out.set_result,
            args=([TopicPartition(topic, 2, 3), TopicPartition(topic, 3, 4)],),
        )
        delivered.start()  # the loop finishing its delivery, on another thread
        member._on_revoke(consumer, partitions)
        delivered.join()
        committed = consumer.committed([TopicPartition(topic, p) for p in range(4)], 10)
        assert [(tp.partition, tp.offset) for tp in committed] == [(0, 1), (1, 2), (2, 3), (3, 4)]
        assert member.commit_failures == 0
        assert member._held == []
        assert member._out is None
        assert member._prefetched == []
    finally:
        consumer.close()
