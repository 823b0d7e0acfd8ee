"""What a node's output becomes: events, intents and an EFFECT's declared result, published.

The engine hands every ``ModelNodeOutput`` here. Only orchestrators publish events and only
reducers emit intents, each on a topic its contract declares; an EFFECT's result goes on the
topic its contract declares for the result's model, keyed like the message that caused it.
Every published envelope carries the cause's correlation id and the cause as its parent.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.counters import CountCell, CountCells
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.dispatch.route import DispatchRoute
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import JsonEnvelope, encode_new_envelope
from omnibase_infra.observability.tracing import producer_span, tracing_enabled

__all__ = ["NodeOutputEmitter"]

_EMITTED = CountCells(
    "onex_dispatch_emitted_messages",
    "Events and intents published on behalf of nodes.",
    ("node", "kind"),
)


class NodeOutputEmitter:
    """Publishes node outputs on one bus (one per engine); counts what it published."""

    def __init__(self, bus: EventBusBase) -> None:
        self._bus = bus
        self._emitted_counts: dict[tuple[str, str], CountCell] = {}

    async def emit(
        self,
        route: DispatchRoute,
        source: JsonEnvelope,
        correlation_id: UUID,
        output: ModelNodeOutput,
        source_key: bytes | None,
    ) -> None:
        """Publish a node's events and intents after checking it may, on declared topics;
        an EFFECT's result goes on the topic its contract declares for the result's model,
        keyed like the message that caused it (so results keep the order of their commands)."""
        if output.events and route.archetype is not EnumNodeKind.ORCHESTRATOR:
            raise ProtocolConfigurationError(
                f"{route.node_name} is a {route.archetype.value} node: only orchestrators "
                "publish events",
                field="events",
            )
        if output.intents and route.archetype is not EnumNodeKind.REDUCER:
            raise ProtocolConfigurationError(
                f"{route.node_name} is a {route.archetype.value} node: only reducers emit intents",
                field="intents",
            )
        for kind, messages in (("event", output.events), ("intent", output.intents)):
            for outgoing in messages:
                await self._publish(route, source, correlation_id, outgoing)
                self._emitted_count(route.node_name, kind).value += 1
        if output.result is not None and route.results:
            topic = _result_topic(route, output.result)
            await self._send(route, source, correlation_id, topic, output.result, source_key)
            self._emitted_count(route.node_name, "result").value += 1

    def _emitted_count(self, node_name: str, kind: str) -> CountCell:
        """This engine's count of ``kind`` messages emitted for ``node_name``."""
        cell = self._emitted_counts.get((node_name, kind))
        if cell is None:
            cell = self._emitted_counts[(node_name, kind)] = _EMITTED.cell(node_name, kind)
        return cell

    async def _publish(
        self,
        route: DispatchRoute,
        source: JsonEnvelope,
        correlation_id: UUID,
        outgoing: ModelOutgoingMessage,
    ) -> None:
        if outgoing.topic not in route.publish_topics:
            raise ProtocolConfigurationError(
                f"{route.node_name} published to {outgoing.topic}, which its contract does not "
                "declare in event_bus.publish_topics",
                field="event_bus.publish_topics",
            )
        key = outgoing.key.encode() if outgoing.key is not None else None
        await self._send(route, source, correlation_id, outgoing.topic, outgoing.payload, key)

    async def _send(
        self,
        route: DispatchRoute,
        source: JsonEnvelope,
        correlation_id: UUID,
        topic: str,
        payload: BaseModel,
        key: bytes | None,
    ) -> None:
        """Publish ``payload`` for ``route``'s node, caused by ``source``."""
        if not tracing_enabled():
            await self._bus.publish(topic, key, *_encoded(route, source, correlation_id, payload))
            return
        with producer_span(topic, node=route.node_name):  # its context goes in the headers
            await self._bus.publish(topic, key, *_encoded(route, source, correlation_id, payload))


def _encoded(
    route: DispatchRoute, source: JsonEnvelope, correlation_id: UUID, payload: BaseModel
) -> tuple[bytes, dict[str, str]]:
    """The wire bytes and headers of ``payload`` published by ``route``'s node for ``source``."""
    return encode_new_envelope(
        payload,
        correlation_id=correlation_id,
        parent_envelope_id=source.envelope_id,
        source_tool=route.node_name,
        producer=route.node_name,
    )


def _result_topic(route: DispatchRoute, result: BaseModel) -> str:
    """The topic an EFFECT's contract declares for ``result``'s model; refused otherwise."""
    for model, topic in route.results:
        if type(result) is model:
            return topic
    raise ProtocolConfigurationError(
        f"{route.node_name} returned a {type(result).__name__}, which its contract declares "
        "for no topic in event_bus.publish_topic_metadata",
        field="event_bus.publish_topic_metadata",
    )
