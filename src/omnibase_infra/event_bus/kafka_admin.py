"""Topic management for the Kafka bus: create a topic once, before first use."""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from omnibase_infra.event_bus.kafka_errors import translate_kafka_error
from omnibase_infra.event_bus.kafka_logging import client_logger
from omnibase_infra.event_bus.model_kafka_settings import ModelKafkaSettings

__all__ = ["KafkaTopicAdmin"]

_TIMEOUT = 10.0


class KafkaTopicAdmin:
    """Creates topics with the configured partition count, once per topic per process."""

    def __init__(self, settings: ModelKafkaSettings) -> None:
        self._settings = settings
        self._admin = AdminClient(
            settings.common_config(),
            logger=client_logger(logging.getLogger("omnibase_infra.kafka.admin")),
        )
        self._known: dict[str, asyncio.Future[None]] = {}

    async def ensure_topic(self, topic: str) -> None:
        """Create ``topic`` unless it exists (concurrent callers share one creation)."""
        pending = self._known.get(topic)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(self._create, topic))
            self._known[topic] = pending
        try:
            await asyncio.shield(pending)
        except BaseException:
            if self._known.get(topic) is pending and pending.done():
                del self._known[topic]  # let a later call try again
            raise

    def _create(self, topic: str) -> None:
        futures = self._admin.create_topics(
            [NewTopic(topic, self._settings.partitions, self._settings.replication_factor)],
            operation_timeout=_TIMEOUT,
            request_timeout=_TIMEOUT,
        )
        try:
            futures[topic].result(timeout=_TIMEOUT)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return
            raise translate_kafka_error(exc, "create_topic", topic) from exc

    def committed_total(self, topic: str, group_id: str) -> int | None:
        """Sum of a group's committed offsets over the topic's partitions (None if none)."""
        metadata = self._admin.list_topics(topic, timeout=_TIMEOUT)
        info = metadata.topics.get(topic)
        if info is None or not info.partitions:
            return None
        consumer = Consumer({**self._settings.common_config(), "group.id": group_id})
        try:
            committed = consumer.committed(
                [TopicPartition(topic, p) for p in info.partitions], timeout=_TIMEOUT
            )
        finally:
            consumer.close()
        offsets = [tp.offset for tp in committed if tp.offset >= 0]
        return sum(offsets) if offsets else None
