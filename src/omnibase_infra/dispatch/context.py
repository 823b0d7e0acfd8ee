"""What a node's message handler receives for one message."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, JsonValue

from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.message import BusMessage

__all__ = ["DispatchContext"]


class DispatchContext:
    """The decoded envelope, the payload validated into the route's input model, the raw message.

    A slotted class rather than a pydantic model: one is made per dispatched message from
    values that are already validated.
    """

    __slots__ = ("correlation_id", "envelope", "message", "node_name", "payload")

    def __init__(
        self,
        envelope: JsonEnvelope,
        payload: BaseModel | JsonValue,
        message: BusMessage,
        node_name: str,
        correlation_id: UUID,
    ) -> None:
        self.envelope = envelope
        self.payload = payload
        self.message = message
        self.node_name = node_name
        self.correlation_id = correlation_id
