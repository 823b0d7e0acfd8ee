"""The registration projection bounded by ``nodes.registration.cache_size`` on the real runtime:
it never holds more nodes than configured, and a node evicted from it is read through from
PostgreSQL, so heartbeats and repeated introspections of evicted nodes end as for cached ones."""

from __future__ import annotations

import asyncio

import pytest
from registration_harness import (
    dlq_records,
    fleet_of,
    history,
    registry_config,
    running_registry,
    wait_consumed,
)

from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_HEARTBEAT, TOPIC_NODE_INTROSPECTION

pytestmark = pytest.mark.integration

_CACHE = 2


async def test_the_projection_evicts_past_its_size_and_reads_evicted_nodes_from_postgres(
    postgres_dsn: str,
) -> None:
    """With cache_size 2 and six active nodes the projection holds two; a heartbeat and a new
    introspection of an evicted node are applied from its stored registration exactly as for a
    cached node (same version steps, same history, nothing dead-lettered)."""
    config = registry_config(registration={"cache_size": _CACHE})
    async with running_registry(postgres_dsn, config=config) as registry:
        workflow = registry.orchestrator.workflow
        fleet = fleet_of(registry.bus, 6)
        await fleet.listen()
        clients = list(fleet.nodes)
        for client in clients:
            await client.start()
        for client in clients:
            await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        cached = workflow.cached_node_ids()
        assert 0 < len(cached) <= _CACHE
        evicted = next(c for c in clients if c.node_id not in cached)
        kept = next(c for c in clients if c.node_id in cached)

        before = {c.node_id: await registry.storage.load(c.node_id) for c in (evicted, kept)}
        for client in (evicted, kept):
            await client.heartbeat()
            await client.introspect()
        await wait_consumed(registry.bus)

        assert len(workflow.cached_node_ids()) <= _CACHE
        transitions = {}
        for client in (evicted, kept):
            first, last = before[client.node_id], await registry.storage.load(client.node_id)
            assert first is not None
            assert last is not None
            assert last.state.value == "active"
            assert last.last_heartbeat_at > first.last_heartbeat_at
            transitions[client.node_id] = (
                last.version - first.version,
                [row["transition"] for row in await history(registry.postgres, client.node_id)],
            )
        assert transitions[evicted.node_id] == transitions[kept.node_id]
        for topic in (TOPIC_NODE_HEARTBEAT, TOPIC_NODE_INTROSPECTION):
            assert dlq_records(registry.bus, dlq_topic_for(topic)) == []
        await fleet.close()
