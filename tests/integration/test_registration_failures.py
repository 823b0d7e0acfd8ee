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
    FAST_RETRY,
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
    registry_config,
    running_registry,
    states_by_node,
    wait_consumed,
)

from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.nodes.registration.client import NodeRegistrationClient
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACTIVE,
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_REJECTED,
    TOPIC_NODE_STALE,
)
from omnibase_infra.testing import eventually

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


async def test_discovery_unavailable_compensates_storage_and_retries_instead_of_rejecting(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Discovery unavailable for every try of a delivery: the stored registration is removed
    again (compensated), nothing is rejected, and the redelivered introspection registers the
    node once discovery answers."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        wrapped.discovery.fail("register_service", _ATTEMPTS)  # one whole delivery's tries
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert registry.bus.retained(TOPIC_NODE_REJECTED) == 0
        assert registry.engine.outcomes[EnumDispatchOutcome.RETRY] == 1
        assert registry.engine.outcomes[EnumDispatchOutcome.DLQ] == 0
        assert wrapped.discovery.calls["register_service"] == _ATTEMPTS + 1
        assert (storage.calls["register"], storage.calls["delete"]) == (2, 1)
        transitions = [row["transition"] for row in await history(registry.postgres)]
        assert transitions == ["register_new", "compensated", "registered", "acked"]
        assert await _state(registry, client.node_id) == "active"
        await fleet.close()


async def _has(registry: Registry, topic: str) -> bool:
    return registry.bus.retained(topic) > 0


async def test_storage_unavailable_compensates_discovery_and_retries_instead_of_rejecting(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Storage unavailable for every try of a delivery: discovery's instance is deregistered
    again, nothing is rejected, and the redelivered introspection registers the node."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        storage.fail("register", _ATTEMPTS)
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        assert registry.bus.retained(TOPIC_NODE_REJECTED) == 0
        assert registry.engine.outcomes[EnumDispatchOutcome.RETRY] == 1
        assert storage.calls["register"] == _ATTEMPTS + 1
        assert wrapped.discovery.calls["register_service"] == 2
        assert wrapped.discovery.calls["deregister_service"] == 1
        assert await _state(registry, client.node_id) == "active"
        await fleet.close()


async def test_storage_unavailable_past_the_budget_is_dead_lettered_not_rejected(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Storage unavailable for longer than the outage budget: the introspection goes to the
    DLQ naming registration.storage, no rejection is published, discovery keeps nothing, and
    the node registers once storage is back and it introspects again."""
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
        topic = dlq_topic_for(TOPIC_NODE_INTROSPECTION)
        await eventually(lambda: _dead_lettered(registry), "the introspection is dead-lettered")
        await wait_consumed(registry.bus)
        assert registry.bus.retained(TOPIC_NODE_REJECTED) == 0
        (record,) = dlq_records(registry.bus, topic)
        assert record.error_type == "InfraUnavailableError"
        assert "registration.storage failed" in record.error_message
        assert record.attempts > 3  # the outage budget, not max_attempts, bounded it
        assert (await registry.discovery.list_services()).services == {}
        assert await registry.storage.load(client.node_id) is None

        storage.heal()
        # The storage breaker may still be open (it opened during the outage, and this test's
        # budget is shorter than its timeout): introspect again, as a node asked to would,
        # until one gets through.
        await eventually(lambda: _introspected_until_active(client), "the node registers")
        assert await _state(registry, client.node_id) == "active"
        await fleet.close()


async def _introspected_until_active(client: NodeRegistrationClient) -> bool:
    await client.introspect()
    try:
        await asyncio.wait_for(client.active.wait(), 3.0)
    except TimeoutError:
        return False
    return True


async def test_a_backend_refusing_the_registration_rejects_it_and_says_why(
    postgres_dsn: str, postgres_settings: ModelPostgresSettings
) -> None:
    """Discovery refusing a registration for good (not unavailable): it is not retried, the
    stored registration is compensated and the rejection names registration.discovery."""
    wrapped = _Wrapped()
    storage = CountingPostgres(postgres_settings)
    async with running_registry(
        postgres_dsn, wrap_discovery=wrapped, storage_postgres=storage
    ) as registry:
        wrapped.discovery.fail("register_service", 1, refuse=True)
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        await client.start()
        await eventually(lambda: _has(registry, TOPIC_NODE_REJECTED), "the rejection")
        await wait_consumed(registry.bus)
        (rejection,) = payloads(registry.bus, TOPIC_NODE_REJECTED)
        reason = str(rejection["rejection_reason"])
        assert rejection["node_id"] == str(client.node_id)
        assert "registration.discovery failed after 1 attempt(s)" in reason
        assert "registration.storage" not in reason
        assert registry.engine.outcomes[EnumDispatchOutcome.RETRY] == 0
        assert (storage.calls["register"], storage.calls["delete"]) == (1, 1)
        transitions = [row["transition"] for row in await history(registry.postgres)]
        assert transitions == ["register_new", "compensated"]
        assert not client.accepted.is_set()
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
    postgres_server: EmbeddedPostgres, postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL going down while 20 nodes are active and 20 more register: registrations and
    heartbeats in flight are held for retry, none rejected or dead-lettered; after it restarts
    every node is active in storage and discovery exactly once, and the logs said so without
    the credentials."""
    config = registry_config(retry={**FAST_RETRY, "outage_budget_seconds": 120.0})
    async with running_registry(postgres_dsn, config=config) as registry:
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
            "registrations or heartbeats are held for retry while PostgreSQL is down",
        )
        await postgres_server.start()

        await eventually(
            lambda: _count_state(registry, "active", len(clients)),
            "every node is active again",
            timeout=120,
        )
        for client in clients:
            await client.stop(announce=False)
        await wait_consumed(registry.bus)
        outcomes = registry.engine.outcomes
        assert registry.bus.retained(TOPIC_NODE_REJECTED) == 0
        assert outcomes[EnumDispatchOutcome.DLQ] == 0
        states = await states_by_node(registry.storage)
        assert states == {client.node_id: "active" for client in clients}
        names = [client.description.node_name for client in clients]
        assert await passing_ids(registry.discovery, names) == {str(c.node_id) for c in clients}
        for name in names:
            assert len((await registry.discovery.list_instances(name)).instances) == 1
        rows = await history(registry.postgres)
        keys = [(row["node_id"], row["transition_id"]) for row in rows]
        assert len(keys) == len(set(keys))
        await fleet.close()
    # What the outage logged names it and never carries the credentials.
    logged = capsys.readouterr().err
    assert "dependency unavailable: messages held for retry" in logged
    password = postgres_server.password.get_secret_value()
    assert password not in logged
    assert postgres_dsn not in logged


async def _failed_in_flight(registry: Registry) -> bool:
    return registry.engine.outcomes[EnumDispatchOutcome.RETRY] >= 3


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
    # No outage budget: the follow-up write is dead-lettered after max_attempts, before the
    # storage breaker opens (an open breaker would refuse the liveness ticks for its timeout).
    config = registry_config(retry={**FAST_RETRY, "outage_budget_seconds": 0.0})
    async with running_registry(postgres_dsn, config=config, storage_postgres=storage) as registry:
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
