"""Registration when a backend fails: targeted retry, compensation, recovery, restarts.

Storage is the real PostgreSQL; discovery is the local backend or the fake Consul agent.
Failures are injected by stopping a server, or by doubles around the real backends that fail
a number of calls (``CountingDiscovery``, ``CountingPostgres``) and count every call, so the
tests can tell which backend was retried and that no write was made twice.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from registration_harness import (
    EXPIRE_AFTER,
    STALE_AFTER,
    CountingDiscovery,
    CountingPostgres,
    Registry,
    dlq_records,
    eventually,
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
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.handlers.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.handlers.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACKED,
    TOPIC_NODE_ACTIVE,
    TOPIC_NODE_HEARTBEAT,
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_REJECTED,
    TOPIC_NODE_STALE,
)
from omnibase_infra.runtime.embedded_postgres import EmbeddedPostgres
from omnibase_infra.testing.fake_consul import FakeConsulAgent

pytestmark = pytest.mark.integration

# registration.* executors: 1 + max_retries attempts (node_registry_effect/contract.yaml).
_ATTEMPTS = 4


class _Wrapped:
    """Keeps the discovery double the registry was built with."""

    def __init__(self) -> None:
        self.double: CountingDiscovery | None = None

    def __call__(self, inner: ProtocolServiceDiscovery) -> ProtocolServiceDiscovery:
        self.double = CountingDiscovery(inner)
        return self.double

    @property
    def discovery(self) -> CountingDiscovery:
        assert self.double is not None
        return self.double


async def _state(registry: Registry, node_id: UUID) -> str | None:
    return (await states_by_node(registry.storage)).get(node_id)


async def test_discovery_failing_twice_is_retried_alone(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Discovery failing twice is retried until it succeeds; storage is written once."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        wrapped.discovery.fail("register_service", 2)
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert wrapped.discovery.calls["register_service"] == 3
        assert storage.calls["register"] == 1
        assert storage.calls["delete"] == 0
        record = await registry.storage.load(client.node_id)
        assert record is not None
        assert (record.state.value, record.discovery_status.value) == ("active", "ok")
        assert await passing_ids(registry.discovery, [client.description.node_name]) == {
            str(client.node_id)
        }
        await fleet.close()


async def test_storage_failing_twice_is_retried_alone(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Storage failing twice is retried until it succeeds; discovery is called once."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        storage.fail("register", 2)
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert storage.calls["register"] == 3
        assert wrapped.discovery.calls["register_service"] == 1
        assert wrapped.discovery.calls["deregister_service"] == 0
        assert await _state(registry, client.node_id) == "active"
        await fleet.close()


async def test_discovery_down_compensates_storage_and_says_why(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """With the Consul agent stopped, discovery's retries run out: the stored registration is
    removed again (compensated), and the rejection names registration.discovery."""
    storage = CountingPostgres(postgres_settings)
    consul = FakeConsulAgent()
    await consul.start()
    config = registry_config(consul_url=consul.base_url)
    try:
        async with running_registry(
            postgres_dsn, config=config, storage_postgres=storage
        ) as registry:
            await consul.stop()
            fleet = fleet_of(registry.bus, 1)
            await fleet.listen()
            (client,) = fleet.nodes
            await client.start()
            await eventually(
                lambda: _has(registry, TOPIC_NODE_REJECTED), "the registration is rejected"
            )
            await wait_consumed(registry.bus)
            (rejection,) = payloads(registry.bus, TOPIC_NODE_REJECTED)
            reason = str(rejection["rejection_reason"])
            assert rejection["node_id"] == str(client.node_id)
            assert "registration.discovery failed" in reason
            assert f"after {_ATTEMPTS} attempt(s)" in reason
            assert "registration.storage" not in reason
            assert storage.calls["register"] == 1  # written once, never retried
            assert storage.calls["delete"] == 1  # and removed once (compensation)
            assert await registry.storage.load(client.node_id) is None
            transitions = [row["transition"] for row in await history(registry.postgres)]
            assert transitions == ["register_new", "compensated"]
            assert not client.accepted.is_set()
            await fleet.close()
    finally:
        await consul.stop()


async def _has(registry: Registry, topic: str) -> bool:
    return registry.bus.retained(topic) > 0


async def test_storage_down_compensates_discovery_and_says_why(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Storage failing on every attempt: discovery's instance is deregistered again, the
    rejection names registration.storage, and once storage recovers the node registers."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        storage.fail("register", None)
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await eventually(lambda: _has(registry, TOPIC_NODE_REJECTED), "the rejection")
        await wait_consumed(registry.bus)
        (rejection,) = payloads(registry.bus, TOPIC_NODE_REJECTED)
        reason = str(rejection["rejection_reason"])
        assert "registration.storage failed" in reason
        assert f"after {_ATTEMPTS} attempt(s)" in reason
        assert "registration.discovery" not in reason
        assert storage.calls["register"] == _ATTEMPTS
        assert wrapped.discovery.calls["register_service"] == 1
        assert wrapped.discovery.calls["deregister_service"] == 1
        assert (await registry.discovery.list_services()).services == {}
        assert await registry.storage.load(client.node_id) is None

        storage.heal()
        await client.introspect()
        await asyncio.wait_for(client.active.wait(), 60)
        assert await _state(registry, client.node_id) == "active"
        await fleet.close()


async def test_a_registration_whose_follow_up_write_failed_is_completed_on_redelivery(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Storage failing after the registration was written (its accepted state not recorded)
    fails the message; the redelivered introspection completes the registration instead of
    leaving the node pending forever."""
    storage = CountingPostgres(postgres_settings)
    async with running_registry(postgres_dsn, storage_postgres=storage) as registry:
        storage.fail("update", _ATTEMPTS)  # every attempt of the first follow-up write
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert registry.engine.outcomes[EnumDispatchOutcome.RETRY] >= 1
        assert await _state(registry, client.node_id) == "active"
        assert node_ids_in(registry.bus, TOPIC_NODE_ACTIVE) == {str(client.node_id): 1}
        await fleet.close()


async def test_postgres_restarted_mid_run_everything_converges(
    postgres_server: EmbeddedPostgres, postgres_dsn: str
) -> None:
    """PostgreSQL going down while 20 nodes are active and 20 more register: registrations and
    heartbeats in flight fail (rejected after compensation, or retried and dead-lettered);
    after it restarts every node is active in storage and discovery exactly once."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 40, heartbeat_seconds=0.3)
        await fleet.listen()
        clients = list(fleet.nodes)
        for client in clients[:20]:
            await client.start()
        for client in clients[:20]:
            await asyncio.wait_for(client.active.wait(), 60)

        await postgres_server.stop()
        for client in clients[20:]:
            await client.start()
        await eventually(
            lambda: _failed_in_flight(registry),
            "registrations or heartbeats fail while PostgreSQL is down",
        )
        await postgres_server.start()

        await eventually(
            lambda: _count_state(registry, "active", len(clients)),
            "every node is active again",
            within=120,
        )
        for client in clients:
            await client.stop(announce=False)
        await wait_consumed(registry.bus)
        outcomes = registry.engine.outcomes
        rejected = registry.bus.retained(TOPIC_NODE_REJECTED)
        assert rejected + outcomes[EnumDispatchOutcome.DLQ] > 0  # the outage was felt
        states = await states_by_node(registry.storage)
        assert states == {client.node_id: "active" for client in clients}
        names = [client.description.node_name for client in clients]
        assert await passing_ids(registry.discovery, names) == {str(c.node_id) for c in clients}
        for name in names:
            assert len((await registry.discovery.list_instances(name)).instances) == 1
        rows = await history(registry.postgres)
        keys = [(row["node_id"], row["transition_id"]) for row in rows]
        assert len(keys) == len(set(keys))
        # What the outage reported (rejections, DLQ records) never carries the credentials.
        password = postgres_server.password.get_secret_value()
        reported = [str(p["rejection_reason"]) for p in payloads(registry.bus, TOPIC_NODE_REJECTED)]
        for topic in (TOPIC_NODE_INTROSPECTION, TOPIC_NODE_HEARTBEAT, TOPIC_NODE_ACKED):
            reported += [r.error_message for r in dlq_records(registry.bus, dlq_topic_for(topic))]
        assert reported
        assert not [text for text in reported if password in text or postgres_dsn in text]
        await fleet.close()


async def _failed_in_flight(registry: Registry) -> bool:
    outcomes = registry.engine.outcomes
    failed = outcomes[EnumDispatchOutcome.DLQ] + registry.bus.retained(TOPIC_NODE_REJECTED)
    return failed >= 3


async def _count_state(registry: Registry, state: str, at_least: int) -> bool:
    try:
        states = await states_by_node(registry.storage)
    except Exception:  # PostgreSQL is restarting: not yet
        return False
    return sum(1 for value in states.values() if value == state) >= at_least


async def test_a_liveness_tick_failing_for_one_node_still_announces_the_others(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """When storage refuses one node's stale transition, the other nodes made stale by the same
    tick are announced, and the refused one is made stale (and announced) by a later tick."""
    storage = CountingPostgres(postgres_settings)
    async with running_registry(postgres_dsn, storage_postgres=storage) as registry:
        fleet = fleet_of(registry.bus, 3)
        await fleet.listen()
        clients = list(fleet.nodes)
        for client in clients:
            await client.start()
        for client in clients:
            await asyncio.wait_for(client.active.wait(), 60)
        stuck = clients[0]
        storage.fail("update", None, node_id=stuck.node_id)
        await registry.tick(STALE_AFTER + 1)
        await wait_consumed(registry.bus)
        others = {str(client.node_id) for client in clients[1:]}
        assert node_ids_in(registry.bus, TOPIC_NODE_STALE) == dict.fromkeys(others, 1)
        assert await _state(registry, stuck.node_id) == "active"
        storage.heal()
        await registry.tick(STALE_AFTER + 2)
        await wait_consumed(registry.bus)
        assert node_ids_in(registry.bus, TOPIC_NODE_STALE) == {
            str(client.node_id): 1 for client in clients
        }
        assert set((await states_by_node(registry.storage)).values()) == {"stale"}
        await fleet.close()


async def test_a_node_that_dies_while_its_registration_is_pending_is_removed(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """A node whose registration was left pending (its follow-up write dead-lettered) and that
    then dies is removed from storage and discovery once its liveness deadlines pass."""
    storage = CountingPostgres(postgres_settings)
    async with running_registry(postgres_dsn, storage_postgres=storage) as registry:
        storage.fail("update", None)
        fleet = fleet_of(registry.bus, 1)
        (client,) = fleet.nodes
        await client.introspect()
        await eventually(
            lambda: _dead_lettered(registry), "the registration's message is dead-lettered"
        )
        storage.heal()
        assert await _state(registry, client.node_id) == "pending"
        await registry.tick(STALE_AFTER + 1)
        await wait_consumed(registry.bus)
        await registry.tick(EXPIRE_AFTER + 1)
        await wait_consumed(registry.bus)
        assert await registry.storage.load(client.node_id) is None
        assert (await registry.discovery.list_services()).services == {}


async def _dead_lettered(registry: Registry) -> bool:
    return registry.engine.outcomes[EnumDispatchOutcome.DLQ] > 0
