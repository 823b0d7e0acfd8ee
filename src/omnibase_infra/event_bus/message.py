"""The message a bus hands to a subscriber (satisfies core's ``ProtocolEventMessage``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from prometheus_client import Counter

from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY

__all__ = [
    "BusMessage",
    "HeaderSource",
    "MessageCallback",
    "decode_raw_headers",
    "deliver_once",
    "redelivery_delay",
    "report_parked",
    "report_raised",
]

RawHeaders = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None


class HeaderSource(Protocol):
    """A consumed record whose headers are still bytes (a confluent-kafka ``Message``)."""

    def headers(self) -> RawHeaders:
        """The record's raw headers."""
        ...


def decode_raw_headers(raw: RawHeaders) -> dict[str, str]:
    """Raw header pairs as the bus's string headers (undecodable bytes replaced)."""
    if not raw:
        return {}
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return {
        name: value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")
        for name, value in pairs
    }


_log = get_logger(__name__)

_PARKED = Counter(
    "onex_event_bus_parked_messages",
    "Messages a subscriber parked (their failure could not be made durable): the partition "
    "holds at them and they are retried after a pause.",
    ("topic", "consumer_group"),
    registry=REGISTRY,
)


class BusMessage:
    """One consumed record: topic, key, value bytes, string headers, partition and offset.

    A plain slotted class rather than a pydantic model: one is made per delivered message and
    it carries already-validated bytes, so validation would only add cost to the hot path.
    The bus commits the offset when the subscriber's callback returns, so ``ack`` and ``nack``
    are informational: ``nack`` asks the bus to redeliver instead of committing; ``park`` says
    the subscriber could not even make the message's failure durable (its dead letter was not
    written): the bus holds the partition at it, raises an alarm, and tries it again only after
    a long pause.

    Headers may come undecoded (``header_source``): they are decoded on first read, so a
    subscriber that never looks at them never pays for it.
    """

    __slots__ = (
        "_header_source",
        "_headers",
        "_nacked",
        "_parked",
        "key",
        "offset",
        "partition",
        "timestamp",
        "topic",
        "value",
    )

    def __init__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: dict[str, str] | None,
        partition: int = 0,
        offset: int = 0,
        timestamp: float = 0.0,
        header_source: HeaderSource | None = None,
    ) -> None:
        """``headers`` None with a ``header_source``: decoded from it when first read."""
        self.topic = topic
        self.key = key
        self.value = value
        self._headers = headers
        self._header_source = header_source
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self._nacked = False
        self._parked = False

    @property
    def headers(self) -> dict[str, str]:
        """The string headers (decoded from the record on first read)."""
        headers = self._headers
        if headers is None:
            source = self._header_source
            headers = self._headers = {} if source is None else decode_raw_headers(source.headers())
            self._header_source = None
        return headers

    @headers.setter
    def headers(self, value: dict[str, str]) -> None:
        self._headers = value
        self._header_source = None

    @property
    def header_view(self) -> Mapping[str, str]:
        """The headers to read only: the record's own when they are strings already (no copy;
        the in-memory bus's case), else ``headers``."""
        if self._headers is None and self._header_source is not None:
            raw = self._header_source.headers()
            if type(raw) is dict:  # a dict source holds strings (the in-memory bus's records)
                return raw
        return self.headers

    async def ack(self) -> None:
        """Acknowledge: the bus commits after the callback returns (the default)."""
        self._nacked = False

    async def nack(self) -> None:
        """Ask the bus to redeliver this message instead of committing it."""
        self._nacked = True

    def park(self) -> None:
        """Hold the partition at this message: redeliver it only after the bus's park pause."""
        self._nacked = True
        self._parked = True

    @property
    def nacked(self) -> bool:
        """Whether the subscriber asked for redelivery."""
        return self._nacked

    @property
    def parked(self) -> bool:
        """Whether the subscriber parked this message (see ``park``)."""
        return self._parked

    def __repr__(self) -> str:
        return f"BusMessage(topic={self.topic!r}, partition={self.partition}, offset={self.offset})"


# What the callback's awaitable returns is ignored (the dispatch engine returns its outcome).
MessageCallback = Callable[[BusMessage], Awaitable[object]]


async def deliver_once(callback: MessageCallback, message: BusMessage, *, group_id: str) -> bool:
    """Run a subscriber's callback once; True when it took the message (no error, no nack).

    A callback that raises is logged and reported as not delivered: the bus redelivers the
    message, it never drops it. Cancellation propagates.
    """
    try:
        await callback(message)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        report_raised(message, exc, group_id=group_id)
        return False
    return not message.nacked


def report_raised(message: BusMessage, error: Exception, *, group_id: str) -> None:
    """The warning of a callback that raised (the message is delivered again)."""
    _log.warning(
        "subscriber raised; redelivering",
        topic=message.topic,
        consumer_group=group_id,
        offset=message.offset,
        error_type=type(error).__name__,
    )


def report_parked(message: BusMessage, *, group_id: str, pause_seconds: float) -> None:
    """The alarm of a parked message: one error line and the parked-messages counter."""
    _PARKED.labels(message.topic, group_id).inc()
    _log.error(
        "partition parked",
        topic=message.topic,
        consumer_group=group_id,
        partition=message.partition,
        offset=message.offset,
        retry_in_seconds=pause_seconds,
    )


def redelivery_delay(failures: int, base_seconds: float, max_seconds: float) -> float:
    """The wait before redelivering after ``failures`` failed deliveries (bounded, doubling)."""
    return min(base_seconds * 2.0 ** (failures - 1), max_seconds)
