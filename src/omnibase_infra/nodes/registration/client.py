"""The node side of two-way registration: introspect at start, ack, heartbeat, shut down.

Every ONEX node takes part with a ``NodeRegistrationClient``: ``start()`` publishes its
introspection and starts heartbeating; when the registry answers registration-accepted, the
client acks; when the registry asks for introspection (it restarted, or does not know the node)
the client introspects again; ``stop()`` publishes a shutdown so the registry deregisters it.
Introspections go out in core's shape by default, or in the published omnibase-infra shape.

A process simulating many nodes (the demo, the benchmark) shares one subscription per topic
through ``NodeFleet`` instead of one consumer group per node.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from omnibase_infra._core import (
    ModelNodeCapability,
    ModelNodeIntrospectionEvent,
    ModelNodeShutdownEvent,
    ModelSemVer,
)
from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.codec import JsonEnvelope, encode_new_envelope
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.nodes.registration.models.model_node_heartbeat import ModelNodeHeartbeat
from omnibase_infra.nodes.registration.models.model_node_registration_accepted import (
    ModelNodeRegistrationAccepted,
)
from omnibase_infra.nodes.registration.models.model_node_registration_acked import (
    ModelNodeRegistrationAcked,
)
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACCEPTED,
    TOPIC_NODE_ACKED,
    TOPIC_NODE_ACTIVE,
    TOPIC_NODE_HEARTBEAT,
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_SHUTDOWN,
    TOPIC_REQUEST_INTROSPECTION,
)
from omnibase_infra.observability.logging import get_logger

__all__ = ["ModelNodeDescription", "NodeFleet", "NodeRegistrationClient"]

_log = get_logger(__name__)


class ModelNodeDescription(BaseModel):
    """What a node says about itself in its introspection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: UUID = Field(default_factory=uuid4)
    node_name: str
    node_type: Literal["effect", "compute", "reducer", "orchestrator"] = "effect"
    major: int = 1
    minor: int = 0
    patch: int = 0
    capability: str = "onex.node"
    health_endpoint: str | None = None
    shape: Literal["core", "published"] = "core"


def _now() -> datetime:
    return datetime.now(UTC)


class NodeRegistrationClient:
    """One node's registration handshake and liveness (see module docstring)."""

    def __init__(
        self,
        bus: EventBusBase,
        description: ModelNodeDescription,
        *,
        heartbeat_interval_seconds: float = 10.0,
    ) -> None:
        self._bus = bus
        self.description = description
        self._interval = heartbeat_interval_seconds
        self._heartbeat: asyncio.Task[None] | None = None
        self._started = _now()
        self._key = str(description.node_id).encode()
        self.accepted = asyncio.Event()
        self.active = asyncio.Event()
        self.acks_sent = 0

    @property
    def node_id(self) -> UUID:
        """The node's id."""
        return self.description.node_id

    async def start(self) -> None:
        """Introspect, then heartbeat every interval until ``stop``."""
        await self.introspect()
        self._heartbeat = asyncio.create_task(
            self._beat(), name=f"heartbeat-{self.description.node_name}"
        )

    async def introspect(self) -> None:
        """Publish this node's introspection."""
        await self._publish(TOPIC_NODE_INTROSPECTION, self._introspection())

    async def heartbeat(self) -> None:
        """Publish one heartbeat."""
        d = self.description
        payload = ModelNodeHeartbeat(
            node_id=d.node_id,
            node_type=d.node_type,
            node_version={"major": d.major, "minor": d.minor, "patch": d.patch},
            uptime_seconds=(_now() - self._started).total_seconds(),
            timestamp=_now(),
        )
        await self._publish(TOPIC_NODE_HEARTBEAT, payload)

    async def stop(self, reason: str = "shutdown", *, announce: bool = True) -> None:
        """Stop heartbeating; with ``announce`` publish a shutdown so the node is deregistered.

        ``announce=False`` is a crash: the registry notices only when liveness expires.
        """
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if announce:
            payload = ModelNodeShutdownEvent(
                node_id=self.node_id,
                node_name=self.description.node_name,
                shutdown_reason=reason,
            )
            await self._publish(TOPIC_NODE_SHUTDOWN, payload)

    async def on_accepted(self, accepted: ModelNodeRegistrationAccepted) -> None:
        """Ack an accepted registration (the second half of the handshake)."""
        if accepted.node_id != self.node_id:
            return
        self.accepted.set()
        ack = ModelNodeRegistrationAcked(
            node_id=self.node_id, correlation_id=accepted.correlation_id, timestamp=_now()
        )
        await self._publish(TOPIC_NODE_ACKED, ack, correlation_id=accepted.correlation_id)
        self.acks_sent += 1

    def on_active(self) -> None:
        """The registry says this node is active."""
        self.active.set()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.heartbeat()
            except Exception as exc:  # the bus is unavailable: the next beat tries again
                _log.warning("heartbeat not published", error=str(exc))

    def _introspection(self) -> BaseModel | dict[str, JsonValue]:
        d = self.description
        version = ModelSemVer(major=d.major, minor=d.minor, patch=d.patch)
        if d.shape == "published":
            return {
                "node_id": str(d.node_id),
                "node_name": d.node_name,
                "node_type": d.node_type,
                "node_version": {"major": d.major, "minor": d.minor, "patch": d.patch},
                "declared_capabilities": {d.capability: True},
                "endpoints": {"health": d.health_endpoint} if d.health_endpoint else {},
                "reason": "startup",
                "correlation_id": str(uuid4()),
                "timestamp": _now().isoformat(),
            }
        return ModelNodeIntrospectionEvent(
            node_id=d.node_id,
            node_name=d.node_name,
            version=version,
            node_type=d.node_type,
            capabilities=ModelNodeCapability(
                value=d.capability, description=d.capability, version_introduced=version
            ),
            health_endpoint=d.health_endpoint,
        )

    async def _publish(
        self,
        topic: str,
        payload: BaseModel | dict[str, JsonValue],
        correlation_id: UUID | None = None,
    ) -> None:
        correlation = correlation_id or uuid4()
        if isinstance(payload, BaseModel):
            value, headers = encode_new_envelope(
                payload, correlation_id=correlation, producer=self.description.node_name
            )
            await self._bus.publish(topic, self._key, value, headers)
            return
        # the published package's introspection shape, already JSON
        envelope = JsonEnvelope(
            payload=payload,
            payload_type="ModelNodeIntrospectionEvent",
            correlation_id=correlation,
            producer=self.description.node_name,
        )
        await self._bus.publish_envelope(envelope, topic, self._key)


class _RegistryAnswer(BaseModel):
    """What a node reads of the registry's envelopes: the payload (the rest is ignored).

    The registry's own consumers validate whole envelopes; a node only needs its answer, and
    reading just the payload costs a third of decoding core's envelope (two per registration).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    payload: dict[str, JsonValue]


class _NodeRef(BaseModel):
    """The node an answer is for (all a became-active event tells a node)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    node_id: UUID


class _ActiveAnswer(BaseModel):
    """A became-active envelope as a node reads it: the node it names (one JSON pass)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payload: _NodeRef


class _AcceptedAnswer(BaseModel):
    """A registration-accepted envelope as a node reads it: the typed event (one JSON pass)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payload: ModelNodeRegistrationAccepted


class NodeFleet:
    """Many simulated nodes in one process, sharing one subscription per registry topic."""

    def __init__(self, bus: EventBusBase, group_id: str = "onex-node-fleet") -> None:
        self._bus = bus
        self._group = group_id
        self._nodes: dict[UUID, NodeRegistrationClient] = {}
        self._unsubscribe: list[Unsubscribe] = []

    def add(self, client: NodeRegistrationClient) -> NodeRegistrationClient:
        """Route the registry's answers for ``client``'s node to it."""
        self._nodes[client.node_id] = client
        return client

    @property
    def nodes(self) -> Iterable[NodeRegistrationClient]:
        """The fleet's clients."""
        return self._nodes.values()

    async def listen(self) -> None:
        """Subscribe to accepted, became-active and request-introspection."""
        for topic in (TOPIC_NODE_ACCEPTED, TOPIC_NODE_ACTIVE, TOPIC_REQUEST_INTROSPECTION):
            self._unsubscribe.append(
                await self._bus.subscribe(
                    topic, on_message=self._on_message, group_id=f"{self._group}.{topic}"
                )
            )

    async def close(self) -> None:
        """Leave the subscriptions."""
        for unsubscribe in self._unsubscribe:
            await unsubscribe()
        self._unsubscribe.clear()

    async def _on_message(self, message: BusMessage) -> None:
        # Invalid answers are not for us to judge (the registry's own consumers dead-letter):
        # a node ignores what it cannot read, and an answer for a node that is not ours.
        topic = message.topic
        try:
            if topic == TOPIC_NODE_ACTIVE:
                node_id = _ActiveAnswer.model_validate_json(message.value).payload.node_id
                client = self._nodes.get(node_id)
                if client is not None:
                    client.on_active()
                return
            if topic == TOPIC_REQUEST_INTROSPECTION:
                payload = _RegistryAnswer.model_validate_json(message.value).payload
                await self._reintrospect(payload)
                return
            accepted = _AcceptedAnswer.model_validate_json(message.value).payload
        except ValidationError:
            return
        client = self._nodes.get(accepted.node_id)
        if client is not None:
            await client.on_accepted(accepted)

    async def _reintrospect(self, payload: dict[str, JsonValue]) -> None:
        target, requester = payload.get("node_id"), payload.get("requester_id")
        for client in self._nodes.values():
            if target == requester or target == str(client.node_id):
                await client.introspect()
