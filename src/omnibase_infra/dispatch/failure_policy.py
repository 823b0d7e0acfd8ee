"""The one failure policy of the dispatch engine: delayed retries, then the DLQ.

Bus-agnostic (in-memory and Kafka). ``RetryFailurePolicy`` retries, then dead-letters;
``DeadLetterPolicy`` (the engine's default) is the same policy with a retry budget of 0 (one
delivery, no outage budget): there is one dead-letter path. A failure that says a
dependency is unavailable (``errors.is_dependency_unavailable``: refused, timed out, circuit
open) is retried until ``outage_budget_seconds`` have passed since the message first failed;
any other retriable failure gets ``max_attempts`` deliveries; invalid input and bad
configuration go to the DLQ at once. A dead-lettered message carries a sanitised
``ModelDlqRecord`` (attempts, first and last failure). A message of a DLQ topic is never
dead-lettered again. Retries are made one of two ways:

- retry topics (Kafka): the message is republished, bytes and headers unchanged plus a retry
  state, to the retry topic of its level (``onex.<kind>.<producer>.<event>-retry<N>.v<V>``,
  one level per attempt up to ``max_attempts``; later outage retries share the last level) and
  the original is done, so its partition moves on at once;
- redelivery in place (``redeliver=True``, the in-memory bus): the policy waits the delay,
  then nacks, and the bus delivers the same message again, holding back the messages behind
  it. Nothing is republished, so a long outage cannot fill the bus with its own retries.

``dispatch.retry_consumer.RetryConsumer`` feeds the retry topics back to the engine.
``RetryReport`` logs all of this in summary.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from pydantic import ValidationError

from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.dispatch.model_retry_state import ModelRetryState
from omnibase_infra.dispatch.retry_report import RetryReport
from omnibase_infra.dispatch.retry_topics import retry_topic_for
from omnibase_infra.enums import EnumDispatchOutcome, EnumTopicKind
from omnibase_infra.errors import (
    EnvelopeValidationError,
    ProtocolConfigurationError,
    RuntimeHostError,
    is_dependency_unavailable,
)
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.dlq import build_dlq_message
from omnibase_infra.event_bus.dlq_writer import DeadLetterWriter
from omnibase_infra.event_bus.headers import (
    HEADER_ATTEMPT,
    HEADER_ORIGINAL_TOPIC,
    HEADER_RETRY_STATE,
)
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY

__all__ = [
    "DeadLetterPolicy",
    "RetryFailurePolicy",
    "read_retry_state",
    "retry_topic_for",
]

_log = get_logger(__name__)

# Messages redelivered in place that the policy remembers at most (their attempts, first failure).
_MAX_HELD = 65_536

_RETRIES = Counter(
    "onex_dispatch_retries",
    "Failed deliveries given another attempt, by topic, consumer group and kind "
    "(outage: a dependency was unavailable; error: any other retriable failure).",
    ("topic", "consumer_group", "kind"),
    registry=REGISTRY,
)
_DEAD_LETTERED = Counter(
    "onex_dispatch_dead_lettered",
    "Messages the failure policy dead-lettered, by topic, consumer group and reason "
    "(invalid_input, configuration, not_retriable, attempts_exhausted, outage_exhausted).",
    ("topic", "consumer_group", "reason"),
    registry=REGISTRY,
)


def _report_interval(settings: ModelRetrySettings) -> float:
    """Summary interval: longer than any retry delay, so a quiet interval means settled."""
    return max(10.0, settings.max_delay_seconds * 1.5 + 1.0)


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


class _Held:
    """What the policy remembers of a message it redelivers in place."""

    __slots__ = ("failures", "first_failure", "last_failure")

    def __init__(self, now: datetime) -> None:
        self.failures = 0
        self.first_failure = now
        self.last_failure = now


class RetryFailurePolicy:
    """Failure policy of the dispatch engine: delayed retries, then the DLQ (see module)."""

    def __init__(
        self,
        bus: EventBusBase,
        settings: ModelRetrySettings | None = None,
        *,
        redeliver: bool = False,
        report: RetryReport | None = None,
        writer: DeadLetterWriter | None = None,
    ) -> None:
        self._bus = bus
        self._settings = settings or ModelRetrySettings()
        self._redeliver = redeliver
        self.report = report or RetryReport(_report_interval(self._settings))
        self._writer = writer or DeadLetterWriter(bus)
        # Redelivery in place: per (group, topic, partition, offset), least recently failed
        # first. A message that then succeeds is never heard of again, so entries also leave
        # once they could no longer matter (older than the outage budget) or past a bound.
        self._held: OrderedDict[tuple[str, str, int, int], _Held] = OrderedDict()
        self._closing = asyncio.Event()

    @property
    def settings(self) -> ModelRetrySettings:
        """The attempts and delays this policy applies."""
        return self._settings

    @property
    def redelivers(self) -> bool:
        """Whether retries are redelivered in place (True) or go through retry topics."""
        return self._redeliver

    def is_retriable(self, error: BaseException) -> bool:
        """Whether another attempt could succeed (bad input and bad configuration cannot)."""
        if self._settings.retry_non_retriable:
            return True
        if isinstance(error, EnvelopeValidationError | ProtocolConfigurationError):
            return False
        if isinstance(error, RuntimeHostError):
            return error.retriable
        return True

    def is_outage(self, error: BaseException) -> bool:
        """Whether ``error`` gets the outage budget: a dependency is unavailable."""
        return self._settings.outage_budget_seconds > 0 and is_dependency_unavailable(error)

    def may_retry(self, error: BaseException, attempt: int, failing_for_seconds: float) -> bool:
        """Whether delivery ``attempt`` that failed with ``error`` gets another one."""
        if not self.is_retriable(error):
            return False
        if self.is_outage(error):
            return failing_for_seconds < self._settings.outage_budget_seconds
        return attempt < self._settings.max_attempts

    async def on_failure(
        self, message: BusMessage, error: BaseException, *, consumer_group: str
    ) -> EnumDispatchOutcome:
        """Retry (re-queued or held, then nacked) or dead-letter; returns once that is durable."""
        if parse_topic(message.topic).kind is EnumTopicKind.DLQ:
            # Already a dead letter: it never re-enters the DLQ as a new record of itself.
            return EnumDispatchOutcome.DLQ
        now = datetime.now(UTC)
        state: ModelRetryState | None = None
        if self._redeliver:
            attempt, first_failure = self._failed_in_place(message, consumer_group, now)
        else:
            attempt = _attempt_of(message)
            state = read_retry_state(message)
            first_failure = state.first_failure_at if state is not None else now
        failing_for = (now - first_failure).total_seconds()
        if self.may_retry(error, attempt, failing_for) and not self._closing.is_set():
            outage = self.is_outage(error)
            _RETRIES.labels(message.topic, consumer_group, "outage" if outage else "error").inc()
            self.report.retrying(
                topic=message.topic,
                consumer_group=consumer_group,
                error=error,
                outage=outage,
                attempt=attempt + 1,
                failing_for_seconds=failing_for,
            )
            if self._redeliver:
                await self._hold(message, attempt + 1)
            else:
                await self._retry(message, error, attempt + 1, consumer_group, first_failure, now)
            return EnumDispatchOutcome.RETRY
        if self._closing.is_set() and self.may_retry(error, attempt, failing_for):
            await message.nack()  # stopping: leave it for the next start, not the DLQ
            return EnumDispatchOutcome.RETRY
        self._held.pop((consumer_group, message.topic, message.partition, message.offset), None)
        await self._dead_letter(message, error, attempt, consumer_group, first_failure, state)
        _DEAD_LETTERED.labels(message.topic, consumer_group, self.dead_letter_reason(error)).inc()
        self.report.dead_lettered()
        return EnumDispatchOutcome.DLQ

    def dead_letter_reason(self, error: BaseException) -> str:
        """Why a message that failed with ``error`` was dead-lettered (a metric label)."""
        if isinstance(error, EnvelopeValidationError):
            return "invalid_input"
        if isinstance(error, ProtocolConfigurationError):
            return "configuration"
        if not self.is_retriable(error):
            return "not_retriable"
        return "outage_exhausted" if self.is_outage(error) else "attempts_exhausted"

    async def close(self) -> None:
        """Stop waiting: held messages are nacked at once (left for the next start)."""
        self._closing.set()
        self.report.close()

    def _failed_in_place(
        self, message: BusMessage, consumer_group: str, now: datetime
    ) -> tuple[int, datetime]:
        """Count a failed delivery of a message redelivered in place: (attempt, first failure)."""
        key = (consumer_group, message.topic, message.partition, message.offset)
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(now)
            self._forget_old(now)
        else:
            self._held.move_to_end(key)
        held.failures += 1
        held.last_failure = now
        return held.failures, held.first_failure

    def _forget_old(self, now: datetime) -> None:
        horizon = now - timedelta(
            seconds=self._settings.outage_budget_seconds + self._settings.max_delay_seconds + 60
        )
        while self._held:
            oldest = next(iter(self._held.values()))
            if oldest.last_failure >= horizon and len(self._held) <= _MAX_HELD:
                return
            self._held.popitem(last=False)

    async def _hold(self, message: BusMessage, attempt: int) -> None:
        """Wait the delay before delivery ``attempt`` (cut short by ``close``), then nack."""
        self.report.held += 1
        try:
            async with asyncio.timeout(self._settings.delay_before(attempt)):
                await self._closing.wait()
        except TimeoutError:
            pass
        finally:
            self.report.held -= 1
        await message.nack()

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
        topic = retry_topic_for(message.topic, self._settings.level_of(attempt))
        await self._bus.publish(topic, message.key, message.value, headers)

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
        record = await self._writer.write(topic, origin, record, headers)
        _log.warning(
            "message dead-lettered",
            topic=message.topic,
            dlq_topic=topic,
            consumer_group=consumer_group,
            attempts=attempts,
            error_type=record.error_type,
            reason=record.error_message,
            dlq_record_id=str(record.record_id),
            value_truncated=record.value_truncated,
        )


class DeadLetterPolicy(RetryFailurePolicy):
    """Dead-letter at once: ``RetryFailurePolicy`` with a retry budget of 0 (the default)."""

    def __init__(self, bus: EventBusBase, writer: DeadLetterWriter | None = None) -> None:
        super().__init__(bus, ModelRetrySettings.dead_letter_at_once(), writer=writer)
