"""The two seams of the dispatch engine: the node's message handler and the failure policy."""

from __future__ import annotations

from typing import Protocol

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.message import BusMessage

__all__ = ["ProtocolFailurePolicy", "ProtocolMessageHandler"]


class ProtocolMessageHandler(Protocol):
    """A node's handler for one payload type (declared in the node's ``handler_routing``)."""

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Handle one message; raise a typed error to fail it (the failure policy decides)."""
        ...


class ProtocolFailurePolicy(Protocol):
    """Decides what happens to a message whose handling failed, and makes it durable."""

    async def on_failure(
        self, message: BusMessage, error: BaseException, *, consumer_group: str
    ) -> EnumDispatchOutcome:
        """Return RETRY or DLQ only once the message is durably re-queued or dead-lettered."""
        ...
