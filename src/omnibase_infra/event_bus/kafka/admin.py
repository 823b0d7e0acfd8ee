"""Topic management for the Kafka bus: create a topic once, before first use."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Future

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from omnibase_infra.errors import InfraTimeoutError
from omnibase_infra.event_bus.kafka.errors import kafka_context, translate_kafka_error
from omnibase_infra.event_bus.kafka.logging import client_logger
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings

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
        await self.ensure_topics((topic,))

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create those of ``topics`` that do not exist, in one request, without a thread.

        The client completes its futures on its own thread; awaiting them here keeps the loop
        free and lets a cancelled start go at once. Concurrent callers share one creation.
        """
        missing = [t for t in dict.fromkeys(topics) if t not in self._known]
        if missing:
            futures = self._admin.create_topics(
                [
                    NewTopic(t, self._settings.partitions, self._settings.replication_factor)
                    for t in missing
                ],
                operation_timeout=_TIMEOUT,
                request_timeout=_TIMEOUT,
            )
            for topic in missing:
                created = asyncio.ensure_future(self._created(topic, futures[topic]))
                created.add_done_callback(_retrieved)
                self._known[topic] = created
        together = asyncio.gather(*(self._known[t] for t in topics))
        together.add_done_callback(_retrieved)
        try:
            # Shielded: a caller that gives up (a stop signal) does not cancel a creation
            # that other callers share.
            await asyncio.shield(together)
        except BaseException:
            for topic in topics:
                known = self._known.get(topic)
                failed = known is not None and known.done() and not known.cancelled()
                if failed and known is not None and known.exception() is not None:
                    del self._known[topic]  # let a later call try again
            raise

    async def _created(self, topic: str, future: Future[None]) -> None:
        """Wait for one creation; an existing topic is fine, anything else a typed error."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), _TIMEOUT + 1)
        except TimeoutError:
            raise InfraTimeoutError(
                f"kafka create_topic got no answer within {_TIMEOUT:.0f}s from bootstrap "
                f"servers {self._settings.bootstrap_servers}",
                context=kafka_context("create_topic", topic),
            ) from None
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return
            raise translate_kafka_error(
                exc, "create_topic", topic, servers=self._settings.bootstrap_servers
            ) from exc

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


def _retrieved[T](future: asyncio.Future[T]) -> None:
    """Mark a shared future's outcome as seen: its callers report it, or left (cancelled)."""
    if not future.cancelled():
        future.exception()
