"""Delayed retries through retry topics, then the DLQ; bus-agnostic (in-memory and Kafka).

``RetryFailurePolicy`` is the dispatch engine's failure policy: a retriable failure is
republished, bytes and headers unchanged plus a retry state, to the retry topic of the next
attempt (``onex.<kind>.<producer>.<event>-retry<N>.v<V>``) and the original message is done, so
its partition moves on at once. After the last attempt, or for an error that retrying cannot
fix, the message goes to its DLQ topic with a sanitised ``ModelDlqRecord`` (attempts, first and
last failure). A message of a DLQ topic is never dead-lettered again.

``RetryConsumer`` reads the retry topics of all of a node's topics as one consumer group (one
join), waits until each message's not-before time (never longer than ``max_delay_seconds``),
and hands the message back to ``engine.dispatch`` under its original topic. Each retry topic
holds one attempt level, whose delays are equal, so its messages come due in the order they sit
in; every wait is bounded by ``max_delay_seconds``, so a retry is never held up beyond its own
due time plus that bound by another one waiting in the same fetch.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from omnibase_infra.enums import EnumDispatchOutcome, EnumTopicKind
from omnibase_infra.errors import (
    EnvelopeValidationError,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.dlq import build_dlq_message
from omnibase_infra.event_bus.headers import (
    HEADER_ATTEMPT,
    HEADER_ORIGINAL_TOPIC,
    HEADER_RETRY_STATE,
)
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.model_retry_settings import ModelRetrySettings
from omnibase_infra.event_bus.model_retry_state import ModelRetryState
from omnibase_infra.event_bus.topics import build_topic, parse_topic
from omnibase_infra.observability.logging import get_logger

__all__ = [
    "ProtocolRetryDispatcher",
    "RetryConsumer",
    "RetryFailurePolicy",
    "read_retry_state",
    "retry_topic_for",
]

_log = get_logger(__name__)

_MAX_SEGMENT = 64


class ProtocolRetryDispatcher(Protocol):
    """What the retry consumer needs of the dispatch engine."""

    async def dispatch(self, message: BusMessage, *, consumer_group: str) -> EnumDispatchOutcome:
        """Dispatch ``message`` as the node owning ``consumer_group`` would."""
        ...


def retry_topic_for(topic: str, attempt: int) -> str:
    """The retry topic holding delivery ``attempt`` (>= 2) of messages from ``topic``."""
    parsed = parse_topic(topic)
    suffix = f"-retry{attempt}"
    event = parsed.event
    if len(event) + len(suffix) > _MAX_SEGMENT:
        # Keep names valid for long events: a prefix plus a checksum of the whole event.
        digest = f"{zlib.crc32(event.encode()):08x}"
        event = f"{event[: _MAX_SEGMENT - len(suffix) - len(digest) - 1]}-{digest}"
    return build_topic(parsed.kind, parsed.producer, f"{event}{suffix}", parsed.version)


def read_retry_state(message: BusMessage) -> ModelRetryState | None:
    """The retry state a message carries (None on a first delivery or an unreadable header)."""
    raw = message.headers.get(HEADER_RETRY_STATE)
    if raw is None:
        return None
    try:
        return ModelRetryState.model_validate_json(raw)
    except ValidationError:
        return None


def _attempt_of(message: BusMessage) -> int:
    try:
        return max(int(message.headers.get(HEADER_ATTEMPT, "1")), 1)
    except ValueError:
        return 1


class RetryFailurePolicy:
    """Failure policy of the dispatch engine: delayed retries, then the DLQ (see module)."""

    def __init__(self, bus: EventBusBase, settings: ModelRetrySettings | None = None) -> None:
        self._bus = bus
        self._settings = settings or ModelRetrySettings()

    @property
    def settings(self) -> ModelRetrySettings:
        """The attempts and delays this policy applies."""
        return self._settings

    def is_retriable(self, error: BaseException) -> bool:
        """Whether another attempt could succeed (bad input and bad configuration cannot)."""
        if self._settings.retry_non_retriable:
            return True
        if isinstance(error, EnvelopeValidationError | ProtocolConfigurationError):
            return False
        if isinstance(error, RuntimeHostError):
            return error.retriable
        return True

    async def on_failure(
        self, message: BusMessage, error: BaseException, *, consumer_group: str
    ) -> EnumDispatchOutcome:
        """Re-queue for a delayed retry or dead-letter; returns once that publish is durable."""
        if parse_topic(message.topic).kind is EnumTopicKind.DLQ:
            # Already a dead letter: it never re-enters the DLQ as a new record of itself.
            return EnumDispatchOutcome.DLQ
        attempt = _attempt_of(message)
        state = read_retry_state(message)
        now = datetime.now(UTC)
        first_failure = state.first_failure_at if state is not None else now
        if attempt < self._settings.max_attempts and self.is_retriable(error):
            await self._retry(message, error, attempt + 1, consumer_group, first_failure, now)
            return EnumDispatchOutcome.RETRY
        await self._dead_letter(message, error, attempt, consumer_group, first_failure, state)
        return EnumDispatchOutcome.DLQ

    async def _retry(
        self,
        message: BusMessage,
        error: BaseException,
        attempt: int,
        consumer_group: str,
        first_failure: datetime,
        now: datetime,
    ) -> None:
        previous = read_retry_state(message)
        state = ModelRetryState(
            consumer_group=consumer_group,
            original_topic=message.topic,
            partition=previous.partition if previous else message.partition,
            offset=previous.offset if previous else message.offset,
            first_failure_at=first_failure,
            not_before=now + timedelta(seconds=self._settings.delay_before(attempt)),
            last_error_type=type(error).__name__,
        )
        headers = dict(message.headers)
        headers[HEADER_ATTEMPT] = str(attempt)
        headers[HEADER_ORIGINAL_TOPIC] = message.topic
        headers[HEADER_RETRY_STATE] = state.model_dump_json()
        topic = retry_topic_for(message.topic, attempt)
        await self._bus.publish(topic, message.key, message.value, headers)
        _log.info(
            "message scheduled for retry",
            topic=message.topic,
            retry_topic=topic,
            attempt=attempt,
            consumer_group=consumer_group,
            error_type=type(error).__name__,
        )

    async def _dead_letter(
        self,
        message: BusMessage,
        error: BaseException,
        attempts: int,
        consumer_group: str,
        first_failure: datetime,
        state: ModelRetryState | None,
    ) -> None:
        # The record names the message's first position, not the retry topic's.
        origin = message
        if state is not None:
            origin = BusMessage(
                message.topic,
                message.key,
                message.value,
                message.headers,
                state.partition,
                state.offset,
                message.timestamp,
            )
        topic, record, headers = build_dlq_message(
            origin,
            consumer_group=consumer_group,
            error=error,
            attempts=attempts,
            first_failure_at=first_failure,
        )
        for transient in (HEADER_RETRY_STATE, HEADER_ATTEMPT):
            headers.pop(transient, None)
        await self._bus.publish(topic, message.key, message.value, headers)
        _log.warning(
            "message dead-lettered",
            topic=message.topic,
            dlq_topic=topic,
            consumer_group=consumer_group,
            attempts=attempts,
            error_type=record.error_type,
            reason=record.error_message,
            dlq_record_id=str(record.record_id),
        )


class RetryConsumer:
    """Feeds one consumer group's due retries of its topics back to the engine (see module)."""

    def __init__(
        self,
        bus: EventBusBase,
        engine: ProtocolRetryDispatcher,
        *,
        topics: Sequence[str],
        consumer_group: str,
        settings: ModelRetrySettings | None = None,
    ) -> None:
        self._bus = bus
        self._engine = engine
        self._topics = tuple(topics)
        self._group = consumer_group
        self._settings = settings or ModelRetrySettings()
        self._unsubscribe: Unsubscribe | None = None
        self._stopping = asyncio.Event()

    @property
    def retry_group(self) -> str:
        """The consumer group reading the retry topics."""
        return f"{self._group}.retry"

    @property
    def retry_topics(self) -> list[str]:
        """The retry topics of every attempt after the first, of every topic."""
        return [
            retry_topic_for(topic, attempt)
            for topic in self._topics
            for attempt in range(2, self._settings.max_attempts + 1)
        ]

    async def start(self) -> None:
        """Join the retry group on every retry topic (from the earliest retained retry)."""
        self._stopping.clear()
        topics = self.retry_topics
        if not topics:
            return
        self._unsubscribe = await self._bus.subscribe_group(
            dict.fromkeys(topics, self._on_retry),
            group_id=self.retry_group,
            auto_offset_reset="earliest",
        )

    async def stop(self) -> None:
        """Leave the retry topics; a retry still waiting is left uncommitted for later."""
        self._stopping.set()
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            await unsubscribe()

    async def _on_retry(self, message: BusMessage) -> None:
        state = read_retry_state(message)
        if state is None or state.consumer_group != self._group:
            return  # another group's retry (they share the topic), or not a retry at all
        wait = (state.not_before - datetime.now(UTC)).total_seconds()
        if wait > 0:
            bounded = min(wait, self._settings.max_delay_seconds)
            try:
                await asyncio.wait_for(self._stopping.wait(), bounded)
            except TimeoutError:
                pass
            else:
                await message.nack()  # stopping: leave it for the next consumer
                return
        original = BusMessage(
            state.original_topic,
            message.key,
            message.value,
            message.headers,
            state.partition,
            state.offset,
            message.timestamp,
        )
        await self._engine.dispatch(original, consumer_group=self._group)
        if original.nacked:  # the engine gave it back (stopped before handling): keep it
            await message.nack()
