"""One routing rule: messages of a payload type on a topic go to one node's handler."""

from __future__ import annotations

from collections.abc import Callable
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
    # What validates a payload into ``input_model`` (None: no model): its pydantic validator
    # itself once the model is built (``model_validate`` is a Python call around it).
    validate_payload: Callable[[object], BaseModel] | None = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        model = self.input_model
        validate: Callable[[object], BaseModel] | None = None
        if model is not None:
            built = model.__pydantic_complete__
            validate = (
                model.__pydantic_validator__.validate_python if built else model.model_validate
            )
        object.__setattr__(self, "validate_payload", validate)


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
