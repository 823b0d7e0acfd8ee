"""The default failure policy: dead-letter the message at once, with a sanitised record.

The dead letter is written by ``DeadLetterWriter``: whole when it fits the bus, by reference
when not, within bounded tries; when even that fails the error propagates and the engine
parks the message.
"""

from __future__ import annotations

from omnibase_infra.enums import EnumDispatchOutcome, EnumTopicKind
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.dlq import build_dlq_message
from omnibase_infra.event_bus.dlq_writer import DeadLetterWriter
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.observability.logging import get_logger

__all__ = ["DeadLetterPolicy"]

_log = get_logger(__name__)


class DeadLetterPolicy:
    """Publishes a failed message's original bytes and headers to its topic's DLQ topic."""

    def __init__(self, bus: EventBusBase, writer: DeadLetterWriter | None = None) -> None:
        self._bus = bus
        self._writer = writer or DeadLetterWriter(bus)

    async def on_failure(
        self, message: BusMessage, error: BaseException, *, consumer_group: str
    ) -> EnumDispatchOutcome:
        """Dead-letter ``message``; returns once the DLQ publish is durable."""
        if parse_topic(message.topic).kind is EnumTopicKind.DLQ:
            # Already a dead letter (e.g. being inspected): it stays where it is, never
            # re-enters the DLQ as a new record of itself.
            return EnumDispatchOutcome.DLQ
        topic, record, headers = build_dlq_message(
            message, consumer_group=consumer_group, error=error
        )
        record = await self._writer.write(topic, message, record, headers)
        _log.warning(
            "message dead-lettered",
            topic=message.topic,
            dlq_topic=topic,
            consumer_group=consumer_group,
            error_type=record.error_type,
            reason=record.error_message,
            dlq_record_id=str(record.record_id),
            value_truncated=record.value_truncated,
        )
        return EnumDispatchOutcome.DLQ
