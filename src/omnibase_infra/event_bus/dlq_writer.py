"""Writing dead letters, bounded: whole when they fit, by reference when not, a few tries at most.

A dead letter goes whole (the original bytes and headers plus the record) when it fits under the
bus's ``max_message_bytes``; otherwise, or when the bus refuses it as too large, it goes in the
reference form (``dlq.reference_form``: a bounded prefix, bounded headers, the original's
position, size and SHA-256 in the record); refused again, in the smallest form (no value at all).
Any other failure is tried again a bounded number of times with a short growing pause, each try
bounded in time. When every try failed, the writer raises an alarm (an error line and
``onex_dlq_write_failures_total``) and re-raises the last error: the caller parks the message
(``BusMessage.park``), it never loops on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final, Literal

from prometheus_client import Counter

from omnibase_infra.errors import MessageTooLargeError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.dlq import (
    DLQ_HEADER_BUDGET_BYTES,
    DLQ_VALUE_PREFIX_BYTES,
    ModelDlqRecord,
    message_size,
    reference_form,
)
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["DeadLetterWriter", "DlqForm"]

_log = get_logger(__name__)

DlqForm = Literal["whole", "reference", "minimal"]

# What a bus adds to a message beyond key, value and headers (Kafka's record and batch
# overhead is under 100 bytes); kept generous so the whole form is not refused at the margin.
_OVERHEAD_BYTES: Final = 1024

_WRITTEN = Counter(
    "onex_dlq_messages",
    "Dead letters written, by original topic and form (whole, reference, minimal).",
    ("topic", "form"),
    registry=REGISTRY,
)
_FAILED = Counter(
    "onex_dlq_write_failures",
    "Dead letters that could not be written after every try (their message was parked).",
    ("topic",),
    registry=REGISTRY,
)


class DeadLetterWriter:
    """Publishes dead letters to a bus within bounded tries and sizes (see module)."""

    def __init__(
        self,
        bus: EventBusBase,
        *,
        attempts: int = 3,
        retry_delay_seconds: float = 0.2,
        attempt_timeout_seconds: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._bus = bus
        self._attempts = max(attempts, 1)
        self._retry_delay = retry_delay_seconds
        self._attempt_timeout = attempt_timeout_seconds
        self._sleep = sleep

    def _fits(self, key: bytes | None, value: bytes, headers: dict[str, str]) -> bool:
        limit = self._bus.max_message_bytes
        return limit is None or message_size(key, value, headers) + _OVERHEAD_BYTES <= limit

    async def write(
        self,
        topic: str,
        message: BusMessage,
        record: ModelDlqRecord,
        headers: dict[str, str],
    ) -> ModelDlqRecord:
        """Publish the dead letter of ``message`` to ``topic``; returns the record written.

        Raises the last error once every try failed (the alarm is already raised).
        """
        form: DlqForm = "whole"
        value = message.value
        if not self._fits(message.key, value, headers):
            form = "reference"
            value, headers, record = reference_form(value, headers, record)
        failures = 0
        while True:
            try:
                async with asyncio.timeout(self._attempt_timeout):
                    await self._bus.publish(topic, message.key, value, headers)
            except MessageTooLargeError as exc:
                if form == "minimal":
                    self._alarm(message, topic, record, exc, failures + 1)
                    raise
                # Only a smaller form can help: no pause, no try spent.
                form = "reference" if form == "whole" else "minimal"
                prefix = 0 if form == "minimal" else DLQ_VALUE_PREFIX_BYTES
                budget = 0 if form == "minimal" else DLQ_HEADER_BUDGET_BYTES
                value, headers, record = reference_form(
                    message.value, headers, record, prefix_bytes=prefix, header_budget=budget
                )
            except Exception as exc:
                failures += 1
                if failures >= self._attempts:
                    self._alarm(message, topic, record, exc, failures)
                    raise
                await self._sleep(self._retry_delay * 2 ** (failures - 1))
            else:
                _WRITTEN.labels(message.topic, form).inc()
                return record

    @staticmethod
    def _alarm(
        message: BusMessage,
        topic: str,
        record: ModelDlqRecord,
        error: BaseException,
        tries: int,
    ) -> None:
        _FAILED.labels(message.topic).inc()
        _log.error(
            "dead letter not written",
            topic=message.topic,
            dlq_topic=topic,
            partition=message.partition,
            offset=message.offset,
            dlq_record_id=str(record.record_id),
            tries=tries,
            error_type=type(error).__name__,
            error=str(error)[:500],
        )
