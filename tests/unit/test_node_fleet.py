"""NodeFleet: a node answers the registry's accepted event and shrugs off what is not one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from uuid import uuid4

from omnibase_infra.event_bus.codec import decode_envelope, new_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.nodes.registration.models.model_node_registration_accepted import (
    ModelNodeRegistrationAccepted,
)
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACCEPTED,
    TOPIC_NODE_ACKED,
    TOPIC_NODE_ACTIVE,
)


async def test_fleet_acks_its_node_after_skipping_garbage_and_foreign_ids() -> None:
    """Non-JSON, a non-UUID node id and another node's answer are ignored, not redelivered
    forever; the node's own accepted event is acked with its correlation id, then it is active."""
    bus = EventBusInmemory()
    await bus.start()
    fleet = NodeFleet(bus, group_id="fleet-test")
    client = fleet.add(
        NodeRegistrationClient(bus, ModelNodeDescription(node_name="n1", capability="x.y"))
    )
    acks: list[BusMessage] = []

    async def on_ack(message: BusMessage) -> None:
        acks.append(message)

    await bus.subscribe(TOPIC_NODE_ACKED, on_message=on_ack, group_id="acks")
    await fleet.listen()
    now = datetime.now(UTC)
    correlation = uuid4()

    def accepted(node_id: object) -> bytes:
        payload = ModelNodeRegistrationAccepted(
            entity_id=uuid4(),
            node_id=uuid4(),
            correlation_id=correlation,
            causation_id=uuid4(),
            emitted_at=now,
            ack_deadline=now,
        )
        envelope = new_envelope(payload, correlation_id=correlation, producer="registry")
        raw = envelope.model_dump(mode="json")
        raw["payload"]["node_id"] = node_id
        return json.dumps(raw).encode()

    await bus.publish(TOPIC_NODE_ACCEPTED, None, b"\x00 not json")
    await bus.publish(TOPIC_NODE_ACCEPTED, None, accepted("not-a-uuid"))
    await bus.publish(TOPIC_NODE_ACCEPTED, None, accepted(str(uuid4())))
    await bus.publish(TOPIC_NODE_ACCEPTED, None, accepted(str(client.node_id)))
    async with asyncio.timeout(10):  # a message redelivered forever never lets the bus idle
        await bus.wait_idle()
    assert client.accepted.is_set()
    assert client.acks_sent == 1
    assert len(acks) == 1
    ack = decode_envelope(acks[0].value)
    assert ack.correlation_id == correlation
    assert isinstance(ack.payload, dict)
    assert ack.payload["node_id"] == str(client.node_id)
    await bus.publish(TOPIC_NODE_ACTIVE, None, accepted(str(client.node_id)))
    async with asyncio.timeout(10):
        await bus.wait_idle()
    assert client.active.is_set()
    await fleet.close()
    await bus.close()


async def test_fleet_marks_only_its_own_node_active() -> None:
    """A became-active event that is not JSON, names no UUID or names another node leaves the
    node waiting (and is not redelivered); the one naming it marks it active."""
    bus = EventBusInmemory()
    await bus.start()
    fleet = NodeFleet(bus, group_id="fleet-active-test")
    client = fleet.add(
        NodeRegistrationClient(bus, ModelNodeDescription(node_name="n2", capability="x.y"))
    )
    await fleet.listen()

    def active(node_id: str) -> bytes:
        return json.dumps({"payload": {"node_id": node_id, "to_state": "active"}}).encode()

    for garbage in (b"{not json", active("not-a-uuid"), active(str(uuid4()))):
        await bus.publish(TOPIC_NODE_ACTIVE, None, garbage)
    async with asyncio.timeout(10):
        await bus.wait_idle()
    assert not client.active.is_set()
    await bus.publish(TOPIC_NODE_ACTIVE, None, active(str(client.node_id)))
    async with asyncio.timeout(10):
        await bus.wait_idle()
    assert client.active.is_set()
    await fleet.close()
    await bus.close()
