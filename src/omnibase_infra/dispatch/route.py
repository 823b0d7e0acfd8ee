"""One routing rule: messages of a payload type on a topic go to one node's handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler

__all__ = ["DispatchRoute", "make_route"]


@dataclass(frozen=True, slots=True)
class DispatchRoute:
    """A route from a node's contract (``handler_routing`` plus ``event_bus``).

    ``payload_type`` None means every payload type on the topic; ``input_model`` None passes
    the payload through as plain JSON. ``results`` (EFFECT routes): each model the handler may
    return as ``ModelNodeOutput.result`` with the evt topic the engine publishes it on.
    """

    node_name: str
    archetype: EnumNodeKind
    topic: str
    handler: ProtocolMessageHandler
    payload_type: str | None = None
    input_model: type[BaseModel] | None = None
    publish_topics: frozenset[str] = field(default_factory=frozenset)
    results: tuple[tuple[type[BaseModel], str], ...] = ()


def make_route(
    *,
    node_name: str,
    archetype: EnumNodeKind,
    topic: str,
    handler: ProtocolMessageHandler,
    payload_type: str | None = None,
    input_model: type[BaseModel] | None = None,
    publish_topics: frozenset[str] = frozenset(),
    results: tuple[tuple[type[BaseModel], str], ...] = (),
) -> DispatchRoute:
    """Build a route (keyword-only convenience for tests and wiring)."""
    return DispatchRoute(
        node_name=node_name,
        archetype=archetype,
        topic=topic,
        payload_type=payload_type,
        input_model=input_model,
        handler=handler,
        publish_topics=publish_topics,
        results=results,
    )
