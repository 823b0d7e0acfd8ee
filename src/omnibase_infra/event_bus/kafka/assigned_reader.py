"""A Kafka consumer that only assigns partitions and never commits, for commands that read a
topic without joining a group (``dlq list``, ``tail``).

Its group id is a throwaway (librdkafka wants one); nothing is ever committed under it. Before
reading, ``probe`` reads the cluster's metadata within a bound and fails at once, with one
error naming the bootstrap servers, when no broker can be reached; the client's own log lines
stay off the terminal (a CLI prints its own one-line error instead).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException

from omnibase_infra.errors import InfraConnectionError
from omnibase_infra.event_bus.kafka.errors import kafka_context
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings

__all__ = ["ClusterMetadata", "KafkaAssignedReader"]

_PROBE_STEP_SECONDS = 0.5
# Errors that say no broker can be reached at all: waiting longer will not help.
_UNREACHABLE = frozenset(
    {
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._RESOLVE,
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError._SSL,
    }
)


class ClusterMetadata(Protocol):
    """What a read uses of the client's cluster metadata: the topic names."""

    topics: Mapping[str, object]


def _quiet_logger() -> logging.Logger:
    """A logger that drops the client's lines: a CLI prints its own one-line error instead."""
    logger = logging.getLogger("omnibase_infra.kafka.assigned_reader")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


class KafkaAssignedReader:
    """A consumer that only assigns and never commits, with the client's errors collected."""

    def __init__(self, settings: ModelKafkaSettings, *, purpose: str, operation: str) -> None:
        """``purpose`` names the throwaway group (``onex-<purpose>-<random>``); ``operation``
        the errors' context."""
        self.errors: list[KafkaError] = []
        self.settings = settings
        self._operation = operation
        self.consumer = Consumer(
            {
                **settings.common_config(),
                "group.id": f"onex-{purpose}-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "logger": _quiet_logger(),
                "error_cb": self.errors.append,
            }
        )

    def probe(self, seconds: float) -> ClusterMetadata:
        """The cluster's metadata within ``seconds``; fails at once when no broker answers."""
        deadline = time.monotonic() + seconds
        while True:
            step = max(min(_PROBE_STEP_SECONDS, deadline - time.monotonic()), 0.05)
            try:
                metadata: ClusterMetadata = self.consumer.list_topics(timeout=step)
                return metadata
            except KafkaException as exc:
                self.consumer.poll(0)  # serves error_cb: what the client ran into meanwhile
                if any(e.code() in _UNREACHABLE for e in self.errors):
                    raise self._unreachable(self._reason()) from exc
                if time.monotonic() >= deadline:
                    raise self._unreachable(f"no answer within {seconds:g} s") from exc

    def _reason(self) -> str:
        """The most telling client error: a broker's own failure before the summary."""
        specific = [e for e in self.errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
        return (specific or self.errors)[0].str()[:300]

    def _unreachable(self, reason: str) -> InfraConnectionError:
        return InfraConnectionError(
            f"no Kafka broker reachable at {self.settings.bootstrap_servers}: {reason}",
            context=kafka_context(self._operation, self.settings.bootstrap_servers),
        )

    def close(self) -> None:
        """Leave without committing anything."""
        self.consumer.close()
