"""Registration at scale and across registry instances: 1000 nodes, a restart, two instances.

The registry is the real runtime on the test's PostgreSQL; where two registry processes must
see the same discovery state (a restart, two instances) discovery is the fake Consul agent.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from registration_harness import (
    STALE_AFTER,
    Registry,
    discovery_instances,
    fleet_of,
    history,
    node_ids_in,
    passing_ids,
    payloads,
    registry_config,
    running_registry,
    states_by_node,
    wait_consumed,
)

from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.registration.client import NodeFleet, NodeRegistrationClient
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACTIVE,
    TOPIC_REQUEST_INTROSPECTION,
)
from omnibase_infra.testing import FakeConsulAgent, eventually

pytestmark = pytest.mark.integration


async def test_a_thousand_nodes_register_concurrently(postgres_dsn: str) -> None:
    """1000 nodes introspecting at once all become active, each stored, registered in
    discovery and announced exactly once."""
    config = registry_config(pool_max_size=20)
    async with running_registry(postgres_dsn, config=config) as registry:
        fleet = fleet_of(registry.bus, 1000, prefix="scale")
        await fleet.listen()
        clients = list(fleet.nodes)
        await asyncio.gather(*(client.start() for client in clients))
        await eventually(
            lambda: _all_active(clients), "every node is told it is active", timeout=600
        )
        await wait_consumed(registry.bus)
        states = await states_by_node(registry.storage)
        assert states == {client.node_id: "active" for client in clients}
        assert await discovery_instances(registry.discovery) == Counter(
            {str(client.node_id): 1 for client in clients}
        )
        rows = await history(registry.postgres)
        registered = Counter(row["node_id"] for row in rows if row["transition"] == "register_new")
        assert registered == Counter({client.node_id: 1 for client in clients})
        assert len(rows) == 3 * len(clients)  # register_new, registered, acked: no duplicates
        assert node_ids_in(registry.bus, TOPIC_NODE_ACTIVE) == {
            str(client.node_id): 1 for client in clients
        }
        assert registry.engine.outcomes[EnumDispatchOutcome.DLQ] == 0
        await fleet.close()


async def _all_active(clients: list[NodeRegistrationClient]) -> bool:
    return all(client.active.is_set() for client in clients)


async def test_a_restarted_registry_continues_from_storage(
    postgres_dsn: str, postgres_handler: HandlerPostgres
) -> None:
    """A new registry instance (empty projection) applies known nodes' heartbeats from storage,
    and a heartbeat from a node it does not know brings a request to introspect, after which
    that node registers again."""
    bus = EventBusInmemory(partitions=4, capacity=4096)
    async with FakeConsulAgent() as consul:
        config = registry_config(consul_url=consul.base_url)
        fleet = fleet_of(bus, 4, prefix="restart")
        clients = list(fleet.nodes)
        async with running_registry(postgres_dsn, bus=bus, config=config) as first:
            await fleet.listen()
            for client in clients:
                await client.start()
            for client in clients:
                await asyncio.wait_for(client.active.wait(), 60)
            before = {c.node_id: await first.storage.load(c.node_id) for c in clients}
        await fleet.close()
        # While the registry is down, its record of one node is lost.
        lost = clients[0]
        await postgres_handler.execute(
            "DELETE FROM onex_registrations WHERE node_id = $1", lost.node_id
        )
        lost.active.clear()
        lost.accepted.clear()

        async with running_registry(postgres_dsn, bus=bus, config=config) as second:
            # The nodes listen again from now on (they missed the start-up call to introspect).
            after = NodeFleet(bus, group_id="restart-fleet-again")
            for client in clients:
                after.add(client)
            await after.listen()
            for client in clients:
                await client.heartbeat()
            await asyncio.wait_for(lost.active.wait(), 60)
            await wait_consumed(bus)

            for client in clients[1:]:
                record = await second.storage.load(client.node_id)
                previous = before[client.node_id]
                assert record is not None
                assert previous is not None
                assert record.state.value == "active"
                assert record.version == previous.version + 1
                assert record.last_heartbeat_at > previous.last_heartbeat_at
            requests = payloads(bus, TOPIC_REQUEST_INTROSPECTION)
            targeted = [r for r in requests if r["node_id"] != r["requester_id"]]
            assert [r["node_id"] for r in targeted] == [str(lost.node_id)]
            broadcasts = [r for r in requests if r["node_id"] == r["requester_id"]]
            assert len(broadcasts) == 2  # each registry instance asked everyone once at start
            record = await second.storage.load(lost.node_id)
            assert record is not None
            assert (record.state.value, record.acked) == ("active", True)
            names = [client.description.node_name for client in clients]
            assert await passing_ids(second.discovery, names) == {str(c.node_id) for c in clients}
            await after.close()


async def test_two_registry_instances_on_one_bus_keep_registrations_consistent(
    postgres_dsn: str,
) -> None:
    """Two registry instances in one consumer group: a liveness tick handled by one instance
    makes nodes stale behind the other's projection; each node's next heartbeat must still
    revive it (conflict, reload, revive) and be announced, with no duplicated transition."""
    bus = EventBusInmemory(partitions=8, capacity=4096)
    async with FakeConsulAgent() as consul:
        config = registry_config(consul_url=consul.base_url)
        async with (
            running_registry(postgres_dsn, bus=bus, config=config) as one,
            running_registry(postgres_dsn, bus=bus, config=config, announce=False) as two,
        ):
            fleet = fleet_of(bus, 40, prefix="pair")
            await fleet.listen()
            clients = list(fleet.nodes)
            for client in clients:
                await client.start()
            for client in clients:
                await asyncio.wait_for(client.active.wait(), 60)
            await wait_consumed(bus)
            assert _handled(one) > 0
            assert _handled(two) > 0

            await one.tick(STALE_AFTER + 1)  # one instance takes the tick, for every node
            await wait_consumed(bus)
            assert set((await states_by_node(one.storage)).values()) == {"stale"}

            for client in clients:
                await client.heartbeat()
            await wait_consumed(bus)
            states = await states_by_node(one.storage)
            assert states == {client.node_id: "active" for client in clients}
            assert node_ids_in(bus, TOPIC_NODE_ACTIVE) == {str(c.node_id): 2 for c in clients}
            for client in clients:
                rows = await history(one.postgres, client.node_id)
                assert [row["transition"] for row in rows] == [
                    "register_new",
                    "registered",
                    "acked",
                    "missed_while_active",
                    "revived_by_heartbeat",
                ]
            names = [client.description.node_name for client in clients]
            assert await passing_ids(one.discovery, names) == {str(c.node_id) for c in clients}
            await fleet.close()


def _handled(registry: Registry) -> int:
    return registry.engine.outcomes[EnumDispatchOutcome.HANDLED]
