"""Two-way registration on the real runtime: PostgreSQL, discovery, the in-memory bus.

Nodes are ``NodeRegistrationClient``s in a ``NodeFleet``; the registry is ``RuntimeHostProcess``
with the registration contracts (``registration_harness.running_registry``): PostgreSQL from
the test's database by DSN reference, the local discovery backend or the fake Consul agent.
Liveness deadlines are reached by publishing runtime ticks that say a later ``now``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from registration_harness import (
    EXPIRE_AFTER,
    STALE_AFTER,
    CountingDiscovery,
    CountingPostgres,
    Registry,
    dlq_records,
    fleet_of,
    history,
    node_ids_in,
    passing_ids,
    payloads,
    publish_json,
    registry_config,
    running_registry,
    states_by_node,
    wait_consumed,
)

from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.nodes.registration.models.model_node_heartbeat import ModelNodeHeartbeat
from omnibase_infra.nodes.registration.models.model_node_registration_acked import (
    ModelNodeRegistrationAcked,
)
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACCEPTED,
    TOPIC_NODE_ACKED,
    TOPIC_NODE_ACTIVE,
    TOPIC_NODE_DEREGISTERED,
    TOPIC_NODE_EXPIRED,
    TOPIC_NODE_HEARTBEAT,
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_REJECTED,
    TOPIC_NODE_STALE,
)
from omnibase_infra.testing import FakeConsulAgent, eventually

pytestmark = pytest.mark.integration

_SECRET = "pa55-Secret-In-Payload"


async def test_introspect_accept_ack_active_in_storage_and_discovery(postgres_dsn: str) -> None:
    """A node that introspects is accepted, acks, and ends active with a stored row, its
    history, and a discovery instance whose TTL check passes."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 3)
        await fleet.listen()
        for client in fleet.nodes:
            await client.start()
        for client in fleet.nodes:
            await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert await states_by_node(registry.storage) == {c.node_id: "active" for c in fleet.nodes}
        for client in fleet.nodes:
            record = await registry.storage.load(client.node_id)
            assert record is not None
            assert record.acked
            assert (record.storage_status.value, record.discovery_status.value) == ("ok", "ok")
            assert record.node_name == client.description.node_name
            assert record.health_endpoint == client.description.health_endpoint
            rows = await history(registry.postgres, client.node_id)
            assert [row["transition"] for row in rows] == ["register_new", "registered", "acked"]
            assert [row["to_state"] for row in rows] == ["pending", "accepted", "active"]
            assert client.acks_sent == 1
        names = [client.description.node_name for client in fleet.nodes]
        assert await passing_ids(registry.discovery, names) == {str(c.node_id) for c in fleet.nodes}
        ids = {str(client.node_id): 1 for client in fleet.nodes}
        assert node_ids_in(registry.bus, TOPIC_NODE_ACCEPTED) == ids
        assert node_ids_in(registry.bus, TOPIC_NODE_ACTIVE) == ids
        await fleet.close()


async def test_published_shape_registers_like_core_shape(postgres_dsn: str) -> None:
    """A node introspecting in the published package's payload shape becomes active too."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 2, shape="published")
        await fleet.listen()
        for client in fleet.nodes:
            await client.start()
        for client in fleet.nodes:
            await asyncio.wait_for(client.active.wait(), 60)
            record = await registry.storage.load(client.node_id)
            assert record is not None
            assert (record.state.value, record.node_name) == (
                "active",
                client.description.node_name,
            )
            assert record.endpoints == {"health": client.description.health_endpoint}
        await fleet.close()


async def test_registry_listing_over_http_and_the_cli_with_consul_discovery(
    postgres_dsn: str,
) -> None:
    """With Consul (the fake agent) as discovery, GET /registry and `onex-infra registry list`
    show every node active with both backends ok, and the agent reports each one healthy."""
    async with FakeConsulAgent() as consul:
        config = registry_config(http=True, consul_url=consul.base_url)
        async with running_registry(postgres_dsn, config=config) as registry:
            fleet = fleet_of(registry.bus, 3, prefix="consul-node")
            await fleet.listen()
            for client in fleet.nodes:
                await client.start()
            for client in fleet.nodes:
                await asyncio.wait_for(client.active.wait(), 60)
            await wait_consumed(registry.bus)
            hub = f"http://127.0.0.1:{registry.host.http_port}"
            async with httpx.AsyncClient(trust_env=False) as http:
                reply = await http.get(f"{hub}/registry")
                filtered = await http.get(f"{hub}/registry", params={"state": "stale"})
                refused = await http.get(f"{hub}/registry", params={"state": "DROP TABLE"})
            assert reply.status_code == 200
            listing = reply.json()
            assert listing["count"] == 3
            assert listing["by_state"] == {"active": 3}
            rows = {row["node_id"]: row for row in listing["nodes"]}
            assert set(rows) == {str(client.node_id) for client in fleet.nodes}
            for row in rows.values():
                assert (row["state"], row["acked"]) == ("active", True)
                assert (row["storage_status"], row["discovery_status"]) == ("ok", "ok")
            assert filtered.json()["count"] == 0
            assert refused.status_code == 422
            cli = await asyncio.to_thread(
                subprocess.run,
                [*_onex_infra(), "registry", "list", "--hub", hub],
                capture_output=True,
                text=True,
                timeout=120,
                env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
            )
            assert cli.returncode == 0, cli.stderr
            for client in fleet.nodes:
                assert client.description.node_name in cli.stdout
            assert "3 registration(s)" in cli.stdout
            assert "3 active" in cli.stdout
            # The agent itself (over its HTTP API) has every node, with a passing TTL check.
            names = [client.description.node_name for client in fleet.nodes]
            assert await passing_ids(registry.discovery, names) == {
                str(client.node_id) for client in fleet.nodes
            }
            await fleet.close()


def _onex_infra() -> list[str]:
    """The installed ``onex-infra`` script of this environment."""
    script = Path(sys.executable).parent / "onex-infra"
    assert script.exists()
    return [str(script)]


async def test_duplicate_introspections_make_one_registration(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Five introspections of one node (and one envelope delivered twice) write storage and
    discovery once, and history records each transition once."""
    counting = CountingPostgres(postgres_settings)
    wrapped: list[CountingDiscovery] = []

    def wrap(inner: ProtocolServiceDiscovery) -> ProtocolServiceDiscovery:
        wrapped.append(CountingDiscovery(inner))
        return wrapped[0]

    async with running_registry(
        postgres_dsn, wrap_discovery=wrap, storage_postgres=counting
    ) as registry:
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        for _ in range(5):
            await client.introspect()
        envelope = await publish_json(
            registry.bus,
            TOPIC_NODE_INTROSPECTION,
            client._introspection().model_dump(mode="json"),  # type: ignore[union-attr]
            payload_type="ModelNodeIntrospectionEvent",
            key=client.node_id,
        )
        # The very same envelope again, as an at-least-once bus may redeliver it.
        await registry.bus.publish_envelope(
            envelope, TOPIC_NODE_INTROSPECTION, str(client.node_id).encode()
        )
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        await wait_consumed(registry.bus)  # acks of re-announced acceptances, if any
        assert await states_by_node(registry.storage) == {client.node_id: "active"}
        assert counting.calls["register"] == 1
        assert wrapped[0].calls["register_service"] == 1
        rows = await history(registry.postgres, client.node_id)
        transitions = [row["transition"] for row in rows]
        assert transitions.count("register_new") == 1
        assert transitions.count("registered") == 1
        assert transitions.count("acked") == 1
        ids = [row["transition_id"] for row in rows]
        assert len(ids) == len(set(ids))
        assert node_ids_in(registry.bus, TOPIC_NODE_ACTIVE) == {str(client.node_id): 1}
        await fleet.close()


async def test_ack_and_heartbeat_before_the_registration_finished(postgres_dsn: str) -> None:
    """A heartbeat and an ack sent while the registration is still being written are applied
    after it, in order: the node ends active, acked, with the heartbeat recorded while accepted."""
    wrapped: list[CountingDiscovery] = []

    def wrap(inner: ProtocolServiceDiscovery) -> ProtocolServiceDiscovery:
        wrapped.append(CountingDiscovery(inner))
        return wrapped[0]

    async with running_registry(postgres_dsn, wrap_discovery=wrap) as registry:
        discovery = wrapped[0]
        fleet = fleet_of(registry.bus, 1)
        (client,) = fleet.nodes
        node = client.node_id
        gate = discovery.hold(str(node))
        workflow = registry.orchestrator.workflow
        await client.introspect()  # the fleet is not listening: the node acks by hand below
        await asyncio.wait_for(discovery.reached[str(node)].wait(), 60)
        # The registration is half-way: discovery is being called, storage holds it pending
        # (its write goes with the next batch of storage writes, so perhaps not yet).

        async def stored_pending() -> bool:
            record = await registry.storage.load(node)
            return record is not None and record.state.value == "pending"

        await eventually(stored_pending, "storage holds the registration pending")

        def waiting_on_node() -> int:
            # Messages about one node are applied one at a time: count those queued on its lock.
            entry = workflow._locks.get(node)
            return 0 if entry is None else entry[1]

        await client.heartbeat()
        await eventually(lambda: _true(waiting_on_node() == 2), "the heartbeat waits its turn")
        ack = ModelNodeRegistrationAcked(
            node_id=node, correlation_id=uuid4(), timestamp=datetime.now(UTC)
        )
        await publish_json(
            registry.bus,
            TOPIC_NODE_ACKED,
            ack.model_dump(mode="json"),
            payload_type="ModelNodeRegistrationAcked",
            key=node,
        )
        await eventually(lambda: _true(waiting_on_node() == 3), "the ack waits its turn")
        gate.set()
        await wait_consumed(registry.bus)
        record = await registry.storage.load(node)
        assert record is not None
        assert (record.state.value, record.acked) == ("active", True)
        transitions = [row["transition"] for row in await history(registry.postgres, node)]
        # The heartbeat moved the liveness clock; only state changes are history.
        assert transitions == ["register_new", "registered", "acked"]
        assert node_ids_in(registry.bus, TOPIC_NODE_ACTIVE) == {str(node): 1}


async def _true(value: bool) -> bool:
    return value


async def test_missed_heartbeats_make_nodes_stale_then_expired_and_removed(
    postgres_dsn: str,
) -> None:
    """Silent nodes go stale (discovery check warning), then expire and leave both backends;
    a stale node that heartbeats is active again and is only made stale by the next deadline."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 3)
        await fleet.listen()
        clients = list(fleet.nodes)
        for client in clients:
            await client.start()
        for client in clients:
            await asyncio.wait_for(client.active.wait(), 60)
        names = [client.description.node_name for client in clients]
        ids = {str(client.node_id) for client in clients}

        await registry.tick(STALE_AFTER + 1)
        await wait_consumed(registry.bus)
        assert set((await states_by_node(registry.storage)).values()) == {"stale"}
        assert node_ids_in(registry.bus, TOPIC_NODE_STALE) == dict.fromkeys(ids, 1)
        assert await passing_ids(registry.discovery, names) == set()  # checks now warn

        survivor = clients[0]
        await survivor.heartbeat()
        await wait_consumed(registry.bus)
        assert (await states_by_node(registry.storage))[survivor.node_id] == "active"
        assert await passing_ids(registry.discovery, names) == {str(survivor.node_id)}

        await registry.tick(EXPIRE_AFTER + 1)
        await wait_consumed(registry.bus)
        assert await states_by_node(registry.storage) == {survivor.node_id: "stale"}
        expired = ids - {str(survivor.node_id)}
        assert node_ids_in(registry.bus, TOPIC_NODE_EXPIRED) == dict.fromkeys(expired, 1)
        assert set((await registry.discovery.list_services()).services) == {
            survivor.description.node_name
        }
        for client in clients[1:]:
            rows = await history(registry.postgres, client.node_id)
            assert [row["transition"] for row in rows][-2:] == ["missed_while_active", "expired"]
            assert (await registry.storage.load(client.node_id)) is None
        await fleet.close()


async def test_shutdown_deregisters_from_both_backends(postgres_dsn: str) -> None:
    """A node that shuts down is deregistered: no row, no discovery instance, an announcement."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 2)
        await fleet.listen()
        leaving, staying = list(fleet.nodes)
        for client in (leaving, staying):
            await client.start()
            await asyncio.wait_for(client.active.wait(), 60)
        await leaving.stop("maintenance")
        await wait_consumed(registry.bus)
        assert await states_by_node(registry.storage) == {staying.node_id: "active"}
        assert set((await registry.discovery.list_services()).services) == {
            staying.description.node_name
        }
        assert node_ids_in(registry.bus, TOPIC_NODE_DEREGISTERED) == {str(leaving.node_id): 1}
        rows = await history(registry.postgres, leaving.node_id)
        assert (rows[-1]["transition"], rows[-1]["to_state"]) == (
            "shutdown_active",
            "deregistered",
        )
        # Back again later: a fresh registration.
        await leaving.start()
        await eventually(
            lambda: _state_is(registry, leaving.node_id, "active"), "the node re-registers"
        )
        await fleet.close()


async def _state_is(registry: Registry, node_id: UUID, state: str) -> bool:
    return (await states_by_node(registry.storage)).get(node_id) == state


async def test_bad_input_is_rejected_or_dead_lettered_and_every_message_is_accounted(
    postgres_dsn: str,
) -> None:
    """Invalid introspections get a rejection event with a reason that names no value; bytes
    that are no envelope and a heartbeat without a node id are dead-lettered with a reason; the
    engine's outcome counts add up to every message published to the registry."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        before = sum(registry.engine.outcomes.values())
        bad_node = uuid4()
        invalid = [
            {"node_id": str(bad_node), "node_name": "x", "node_type": f"mainframe-{_SECRET}"},
            {"node_id": _SECRET, "node_type": "effect", "node_version": "1", "timestamp": "x"},
            [1, 2, 3],
        ]
        for payload in invalid:
            await publish_json(
                registry.bus,
                TOPIC_NODE_INTROSPECTION,
                payload,
                payload_type="ModelNodeIntrospectionEvent",
            )
        await registry.bus.publish(TOPIC_NODE_INTROSPECTION, b"k", b"\x00\xffnot an envelope")
        await publish_json(
            registry.bus,
            TOPIC_NODE_HEARTBEAT,
            {"uptime": 1, "secret": _SECRET},
            payload_type="ModelNodeHeartbeat",
        )
        await wait_consumed(registry.bus)
        sent = len(invalid) + 2
        outcomes = registry.engine.outcomes
        assert sum(outcomes.values()) - before == sent
        assert outcomes[EnumDispatchOutcome.DLQ] == 2
        assert outcomes[EnumDispatchOutcome.RETRY] == 0
        rejected = payloads(registry.bus, TOPIC_NODE_REJECTED)
        assert len(rejected) == len(invalid)
        reasons = [str(event["rejection_reason"]) for event in rejected]
        assert any("version: Field required" in reason for reason in reasons), reasons
        assert any("node_id" in reason for reason in reasons), reasons
        assert any("JSON object" in reason for reason in reasons)
        assert {event.get("node_id") for event in rejected} == {str(bad_node), None}
        dead = dlq_records(registry.bus, dlq_topic_for(TOPIC_NODE_INTROSPECTION))
        dead += dlq_records(registry.bus, dlq_topic_for(TOPIC_NODE_HEARTBEAT))
        assert sorted(record.error_type for record in dead) == [
            "EnvelopeValidationError",
            "EnvelopeValidationError",
        ]
        assert any("node_id" in record.error_message for record in dead)
        everything = " ".join(reasons) + " ".join(r.error_message for r in dead)
        assert _SECRET not in everything
        # The good node was not disturbed.
        assert await states_by_node(registry.storage) == {client.node_id: "active"}
        await fleet.close()


async def test_heartbeat_with_published_and_core_shapes(postgres_dsn: str) -> None:
    """Heartbeats in the published shape and core's health event both extend liveness."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        first = await registry.storage.load(client.node_id)
        assert first is not None
        beat = ModelNodeHeartbeat(node_id=client.node_id, timestamp=datetime.now(UTC))
        await publish_json(
            registry.bus,
            TOPIC_NODE_HEARTBEAT,
            beat.model_dump(mode="json"),
            payload_type="ModelNodeHeartbeat",
            key=client.node_id,
        )
        await publish_json(
            registry.bus,
            TOPIC_NODE_HEARTBEAT,
            {
                "node_id": str(client.node_id),
                "node_name": client.description.node_name,
                "health_metrics": {},
            },
            payload_type="ModelNodeHealthEvent",
            key=client.node_id,
        )
        await wait_consumed(registry.bus)
        rows = await history(registry.postgres, client.node_id)
        assert "heartbeat_active" not in [row["transition"] for row in rows]
        last = await registry.storage.load(client.node_id)
        assert last is not None
        assert last.last_heartbeat_at > first.last_heartbeat_at
        assert last.version == first.version + 2
        await fleet.close()
