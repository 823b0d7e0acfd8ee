"""What a node produced for one message: events, intents and an optional result."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage

__all__ = ["ModelNodeOutput"]


class ModelNodeOutput(BaseModel):
    """A node's output; the engine publishes events and intents with the input's correlation.

    Only ORCHESTRATOR nodes may return ``events`` and only REDUCER nodes ``intents``; the
    engine rejects anything else, and any topic the node's contract does not declare. The
    ``result`` of an EFFECT whose contract declares result topics is published by the engine
    on the topic declared for its model (the effect itself never touches the bus).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    events: tuple[ModelOutgoingMessage, ...] = ()
    intents: tuple[ModelOutgoingMessage, ...] = ()
    result: BaseModel | None = None
