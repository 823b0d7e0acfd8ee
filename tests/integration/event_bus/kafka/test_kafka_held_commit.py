"""The Kafka member's commit that follows the next fetch, on a real Tansu broker."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from omnibase_infra.event_bus.kafka.consumer import KafkaGroupMember
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import TopicFactory

pytestmark = pytest.mark.integration


async def _ignore(_message: BusMessage) -> None:
    return None


def test_a_rebalance_inside_the_fetch_commits_the_batch_held_for_commit(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory
) -> None:
    """A delivered batch whose commit waits behind the next fetch is committed by the revoke
    that fetch serves, before the partitions go; the commit job after it finds nothing held."""
    topic = unique_topic()
    producer = Producer(kafka_settings.producer_config())
    for n in range(3):
        producer.produce(topic, b"v%d" % n, b"k")
    assert producer.flush(30) == 0
    member = KafkaGroupMember(kafka_settings, {topic: _ignore}, "held-commit", "earliest")
    consumer = Consumer(kafka_settings.consumer_config("held-commit", "earliest"))
    try:
        partitions = [TopicPartition(topic, p, 0) for p in range(kafka_settings.partitions)]
        consumer.assign(partitions)
        held = [TopicPartition(topic, p, p + 1) for p in range(kafka_settings.partitions)]
        member._held = held  # what ``_fetch_holding`` holds while the next fetch runs
        member._on_revoke(consumer, partitions)
        committed = consumer.committed(
            [TopicPartition(topic, p) for p in range(kafka_settings.partitions)], 10
        )
        assert [(tp.partition, tp.offset) for tp in committed] == [
            (tp.partition, tp.offset) for tp in held
        ]
        assert member.commit_failures == 0
        assert member._held == []  # the commit job after the fetch has nothing left to commit
    finally:
        consumer.close()
