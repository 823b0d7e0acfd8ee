"""Hostile fields in an introspection are rejected on arrival, with a reason, never retried.

Storage is the real PostgreSQL, discovery the local backend.
"""

from __future__ import annotations

import asyncio

import pytest
from registration_harness import (
    Registry,
    payloads,
    running_registry,
    wait_consumed,
)

from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_REJECTED,
)
from omnibase_infra.testing import eventually

pytestmark = pytest.mark.integration

_HOSTILE_HEALTH = (
    "http://127.0.0.1:-1/health",
    "http://127.0.0.1:99999/health",
    "http://[::1/health",
    "http://user:pw@127.0.0.1:8080/health",
)


async def _rejected(registry: Registry, count: int) -> bool:
    return registry.bus.retained(TOPIC_NODE_REJECTED) >= count


@pytest.mark.parametrize("shape", ["core", "published"])
async def test_hostile_health_endpoint_is_rejected_not_retried(
    postgres_dsn: str, shape: str
) -> None:
    """A node announcing a health URL with a bad port, a broken host or credentials is
    rejected at once with a reason naming health_endpoint; nothing is retried or
    dead-lettered, and a well-formed node registers beside it and stays live across ticks."""
    async with running_registry(postgres_dsn) as registry:
        fleet = NodeFleet(registry.bus, group_id=f"hostile-{shape}")
        hostile = [
            NodeRegistrationClient(
                registry.bus,
                ModelNodeDescription(
                    node_name=f"hostile-{index}",
                    health_endpoint=url,
                    shape="published" if shape == "published" else "core",
                ),
                heartbeat_interval_seconds=3600.0,
            )
            for index, url in enumerate(_HOSTILE_HEALTH)
        ]
        good = NodeRegistrationClient(
            registry.bus,
            ModelNodeDescription(node_name="good", health_endpoint="http://127.0.0.1:8080/h"),
            heartbeat_interval_seconds=3600.0,
        )
        for client in (*hostile, good):
            fleet.add(client)
        await fleet.listen()
        for client in (*hostile, good):
            await client.start()
        await eventually(lambda: _rejected(registry, len(hostile)), "every hostile rejection")
        await asyncio.wait_for(good.active.wait(), 60)
        await registry.tick(1.0)
        await wait_consumed(registry.bus)
        rejections = payloads(registry.bus, TOPIC_NODE_REJECTED)
        reasons = {str(r["node_id"]): str(r["rejection_reason"]) for r in rejections}
        print(
            {url: reasons[str(c.node_id)] for url, c in zip(_HOSTILE_HEALTH, hostile, strict=True)}
        )
        for client in hostile:
            assert "health_endpoint" in reasons[str(client.node_id)]
            assert "pw" not in reasons[str(client.node_id)]
            assert await registry.storage.load(client.node_id) is None
        outcomes = registry.engine.outcomes
        assert outcomes[EnumDispatchOutcome.DLQ] == 0
        assert registry.bus.retained(dlq_topic_for(TOPIC_NODE_INTROSPECTION)) == 0
        assert outcomes.get(EnumDispatchOutcome.RETRY, 0) == 0
        record = await registry.storage.load(good.node_id)
        assert record is not None
        assert record.state.value == "active"
        await fleet.close()
