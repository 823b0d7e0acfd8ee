"""The message a bus hands to a subscriber (satisfies core's ``ProtocolEventMessage``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["BusMessage", "MessageCallback"]


class BusMessage:
    """One consumed record: topic, key, value bytes, string headers, partition and offset.

    A plain slotted class rather than a pydantic model: one is made per delivered message and
    it carries already-validated bytes, so validation would only add cost to the hot path.
    The bus commits the offset when the subscriber's callback returns, so ``ack`` and ``nack``
    are informational: ``nack`` asks the bus to redeliver instead of committing.
    """

    __slots__ = ("_nacked", "headers", "key", "offset", "partition", "timestamp", "topic", "value")

    def __init__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: dict[str, str],
        partition: int = 0,
        offset: int = 0,
        timestamp: float = 0.0,
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self._nacked = False

    async def ack(self) -> None:
        """Acknowledge: the bus commits after the callback returns (the default)."""
        self._nacked = False

    async def nack(self) -> None:
        """Ask the bus to redeliver this message instead of committing it."""
        self._nacked = True

    @property
    def nacked(self) -> bool:
        """Whether the subscriber asked for redelivery."""
        return self._nacked

    def __repr__(self) -> str:
        return f"BusMessage(topic={self.topic!r}, partition={self.partition}, offset={self.offset})"


MessageCallback = Callable[[BusMessage], Awaitable[None]]
