"""What the registration integration tests share: the registry on the real runtime path.

``running_registry`` starts ``RuntimeHostProcess`` the way ``onex-infra run`` does
(``build_infrastructure`` on a runtime config), on the in-memory bus, with PostgreSQL in
``external`` mode pointed at the test's database through a DSN *reference* (``env://``), and
the local discovery backend or a Consul agent (the fake one). Liveness is driven by publishing
runtime ticks whose ``now`` the test chooses, so no test waits for a deadline to pass.

The doubles wrap real backends and only count or inject failures: ``CountingDiscovery`` wraps
any ``ProtocolServiceDiscovery``; ``CountingPostgres`` is a ``HandlerPostgres`` on the same real
database that counts registration writes and can fail some. Tests wait with the kit's
``eventually`` (``omnibase_infra.testing``).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
from pydantic import BaseModel, JsonValue

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.event_bus.codec import JsonEnvelope, decode_envelope
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import HEADER_DLQ_RECORD
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelKvEntry,
    ModelKvReadResult,
    ModelServiceCatalog,
    ModelServiceInstances,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_registration_orchestrator.handler import (
    HandlerRegistrationOrchestrator,
)
from omnibase_infra.nodes.node_registration_orchestrator.wiring import ORCHESTRATOR_NAME
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import ModelInfrastructure, build_infrastructure
from omnibase_infra.runtime.plugins.model_runtime_tick import TOPIC_RUNTIME_TICK, ModelRuntimeTick

DSN_VARIABLE = "ONEX_TEST_REGISTRATION_DSN"
# Liveness timings; ticks are published by the tests with a chosen ``now``.
STALE_AFTER = 30.0
EXPIRE_AFTER = 90.0
ACK_TIMEOUT = 30.0
# Delivery retries of a failed message: quick, so tests see the retry and then the DLQ (an
# unavailable backend is retried for two seconds, not the default five minutes).
FAST_RETRY: dict[str, JsonValue] = {
    "max_attempts": 3,
    "base_delay_seconds": 0.05,
    "multiplier": 2.0,
    "max_delay_seconds": 0.5,
    "outage_budget_seconds": 2.0,
}


def registry_config(
    *,
    http: bool = False,
    consul_url: str | None = None,
    retry: dict[str, JsonValue] | None = None,
    pool_max_size: int = 10,
    registration: dict[str, JsonValue] | None = None,
) -> ModelRuntimeConfig:
    """The local profile, PostgreSQL external (DSN by reference), the ticker effectively off."""
    overrides: dict[str, JsonValue] = {
        "http": {"port": 0, "enabled": http},
        "postgres": {
            "mode": "external",
            "dsn": f"env://{DSN_VARIABLE}",
            "pool_max_size": pool_max_size,
        },
        "nodes": {
            "registration": {
                "stale_after_seconds": STALE_AFTER,
                "expire_after_seconds": EXPIRE_AFTER,
                "ack_timeout_seconds": ACK_TIMEOUT,
                "tick_interval_seconds": 86_400.0,
                "request_introspection_interval_seconds": 0.2,
                **(registration or {}),
            }
        },
        "event_bus": {"retry": FAST_RETRY if retry is None else retry},
        "shutdown_grace_seconds": 60.0,
        "log_level": "WARNING",
    }
    if consul_url is not None:
        overrides["discovery"] = {
            "kind": "consul",
            "consul": {"base_url": consul_url, "timeout_seconds": 2.0},
        }
    return load_runtime_config(None, **overrides)


@dataclass
class Registry:
    """A running registry: the host, what it stood up, and ways to look inside."""

    host: RuntimeHostProcess
    infra: ModelInfrastructure
    bus: EventBusInmemory
    discovery: ProtocolServiceDiscovery

    @property
    def engine(self) -> MessageDispatchEngine:
        """The dispatch engine (its ``outcomes`` count every consumed message)."""
        return self.host.engine

    @property
    def storage(self) -> RegistrationStorage:
        """Registration storage on the runtime's own PostgreSQL handler."""
        assert self.infra.postgres is not None
        return RegistrationStorage(self.infra.postgres)

    @property
    def postgres(self) -> HandlerPostgres:
        """The runtime's PostgreSQL handler."""
        assert self.infra.postgres is not None
        return self.infra.postgres

    @property
    def orchestrator(self) -> HandlerRegistrationOrchestrator:
        """The registration orchestrator's handler instance."""
        for route in self.engine.routes:
            if route.node_name == ORCHESTRATOR_NAME:
                handler = route.handler
                assert isinstance(handler, HandlerRegistrationOrchestrator)
                return handler
        raise AssertionError("the registration orchestrator is not routed")

    async def tick(self, seconds_from_now: float) -> None:
        """Publish a runtime tick whose ``now`` is ``seconds_from_now`` away from the clock."""
        tick = ModelRuntimeTick(now=datetime.now(UTC) + timedelta(seconds=seconds_from_now))
        envelope: ModelEventEnvelope[BaseModel] = ModelEventEnvelope(
            payload=tick, payload_type="ModelRuntimeTick", producer="test-clock"
        )
        await self.bus.publish_envelope(envelope, TOPIC_RUNTIME_TICK)


@asynccontextmanager
async def running_registry(
    dsn: str,
    *,
    bus: EventBusInmemory | None = None,
    config: ModelRuntimeConfig | None = None,
    wrap_discovery: Callable[[ProtocolServiceDiscovery], ProtocolServiceDiscovery] | None = None,
    storage_postgres: HandlerPostgres | None = None,
    announce: bool = True,
) -> AsyncIterator[Registry]:
    """Start the registry's runtime on ``dsn``; stop it (drained) when the block exits.

    ``wrap_discovery`` wraps the discovery backend the workflow uses; ``storage_postgres`` (a
    ``CountingPostgres``) replaces the handler registration storage writes through;
    ``announce=False`` leaves out the start-up call for introspection.
    """
    config = config or registry_config()
    previous = os.environ.get(DSN_VARIABLE)
    os.environ[DSN_VARIABLE] = dsn
    try:
        async with build_infrastructure(config) as infra:
            bus = bus or EventBusInmemory(partitions=4, capacity=4096)
            services = dict(infra.services)
            handlers = list(infra.handlers)
            backend = services[ProtocolServiceDiscovery]
            assert isinstance(backend, ProtocolServiceDiscovery)
            discovery = wrap_discovery(backend) if wrap_discovery else backend
            services[ProtocolServiceDiscovery] = discovery
            if storage_postgres is not None:
                handlers.append(storage_postgres)
                services[HandlerPostgres] = storage_postgres
                services[RegistrationStorage] = RegistrationStorage(storage_postgres)
            components = [c for c in infra.components if announce or c.name != "registration"]
            host = RuntimeHostProcess(
                config,
                bus=bus,
                handlers=handlers,
                services=services,
                components=components,
                exclude_nodes=infra.exclude_nodes,
            )
            await host.start()
            try:
                yield Registry(host, infra, bus, discovery)
            finally:
                await host.stop()
    finally:
        if previous is None:
            os.environ.pop(DSN_VARIABLE, None)
        else:
            os.environ[DSN_VARIABLE] = previous


# -- the node side -----------------------------------------------------------------------------


def fleet_of(
    bus: EventBusInmemory,
    count: int,
    *,
    prefix: str = "node",
    heartbeat_seconds: float = 3600.0,
    shape: str = "core",
    group_id: str | None = None,
) -> NodeFleet:
    """``count`` clients (not started) in a fleet that routes the registry's answers to them."""
    fleet = NodeFleet(bus, group_id=group_id or f"fleet-{uuid4().hex[:8]}")
    for index in range(count):
        description = ModelNodeDescription(
            node_name=f"{prefix}-{index:04d}",
            node_type=("effect", "compute", "reducer", "orchestrator")[index % 4],
            capability=f"{prefix}.capability",
            health_endpoint=f"http://127.0.0.1:{20000 + index}/health",
            shape="published" if shape == "published" else "core",
        )
        fleet.add(
            NodeRegistrationClient(bus, description, heartbeat_interval_seconds=heartbeat_seconds)
        )
    return fleet


async def states_by_node(storage: RegistrationStorage) -> dict[UUID, str]:
    """Current state of every stored registration."""
    return {record.node_id: record.state.value for record in await storage.list_all(100_000)}


async def history(
    postgres: HandlerPostgres, node_id: UUID | None = None
) -> list[dict[str, object]]:
    """History rows (all, or one node's), oldest first."""
    if node_id is None:
        rows = await postgres.fetch(
            "SELECT node_id, transition_id, transition, from_state, to_state "
            "FROM onex_registration_history ORDER BY id"
        )
    else:
        rows = await postgres.fetch(
            "SELECT node_id, transition_id, transition, from_state, to_state "
            "FROM onex_registration_history WHERE node_id = $1 ORDER BY id",
            node_id,
        )
    return [dict(row) for row in rows]


async def discovery_instances(discovery: ProtocolServiceDiscovery) -> Counter[str]:
    """How many instances discovery holds per service id, over every service."""
    catalog = await discovery.list_services()
    counts: Counter[str] = Counter()
    for name in catalog.services:
        for service_id in (await discovery.list_instances(name)).service_ids:
            counts[service_id] += 1
    return counts


async def passing_ids(discovery: ProtocolServiceDiscovery, names: Iterable[str]) -> set[str]:
    """Service ids whose every check passes, among the services ``names``."""
    ids: set[str] = set()
    for name in names:
        ids.update((await discovery.healthy_instances(name)).service_ids)
    return ids


def decode_all(bus: EventBusInmemory, topic: str) -> list[JsonEnvelope]:
    """Every envelope the bus still retains on ``topic`` (in partition order)."""
    state = bus._topics.get(topic)
    if state is None:
        return []
    return [decode_envelope(record.value) for part in state.partitions for record in part.log]


def payloads(bus: EventBusInmemory, topic: str) -> list[dict[str, JsonValue]]:
    """The JSON payloads retained on ``topic``."""
    found = []
    for envelope in decode_all(bus, topic):
        assert isinstance(envelope.payload, dict)
        found.append(envelope.payload)
    return found


def node_ids_in(bus: EventBusInmemory, topic: str) -> Counter[str]:
    """How many messages on ``topic`` name each node id."""
    return Counter(str(p.get("node_id")) for p in payloads(bus, topic))


def dlq_records(bus: EventBusInmemory, topic: str) -> list[ModelDlqRecord]:
    """The DLQ records of the messages dead-lettered on ``topic`` (a DLQ topic)."""
    state = bus._topics.get(topic)
    if state is None:
        return []
    found = []
    for part in state.partitions:
        for record in part.log:
            raw = record.header_map.get(HEADER_DLQ_RECORD)
            assert raw is not None, "a dead-lettered message carries its DLQ record"
            found.append(ModelDlqRecord.model_validate_json(raw))
    return found


# -- doubles around real backends --------------------------------------------------------------


def _injected(operation: str, transport: EnumInfraTransportType, *, refuse: bool) -> Exception:
    """The injected failure: the backend unavailable, or (``refuse``) refusing the call for
    good, as a 4xx answer would."""
    context = ModelInfraErrorContext(
        transport_type=transport, operation=operation, target_name="test"
    )
    if refuse:
        return RuntimeHostError(
            f"injected refusal of {operation}", context=context, retriable=False
        )
    return InfraConnectionError(f"injected failure of {operation}", context=context)


@dataclass
class _Failures:
    """Failures still to inject per operation (``None``: fail forever)."""

    remaining: dict[str, int | None] = field(default_factory=dict)
    refuse: bool = False

    def take(self, operation: str) -> bool:
        if operation not in self.remaining:
            return False
        left = self.remaining[operation]
        if left is None:
            return True
        if left <= 0:
            return False
        self.remaining[operation] = left - 1
        return True


class CountingDiscovery:
    """A ``ProtocolServiceDiscovery`` that counts calls and can fail or hold some of them."""

    def __init__(self, inner: ProtocolServiceDiscovery) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.failures = _Failures()
        # Calls to register_service wait here while a gate for the service id is set.
        self.gates: dict[str, asyncio.Event] = {}
        self.reached: dict[str, asyncio.Event] = {}

    def fail(self, operation: str, times: int | None, *, refuse: bool = False) -> None:
        """Fail the next ``times`` calls of ``operation`` (None: every call) as unavailable,
        or with ``refuse`` as a refusal retrying cannot fix."""
        self.failures.remaining[operation] = times
        self.failures.refuse = refuse

    def heal(self) -> None:
        """Stop injecting failures."""
        self.failures.remaining.clear()

    def hold(self, service_id: str) -> asyncio.Event:
        """Hold register_service of ``service_id`` until the returned event is set."""
        gate = asyncio.Event()
        self.gates[service_id] = gate
        self.reached[service_id] = asyncio.Event()
        return gate

    async def _enter(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.failures.take(operation):
            raise _injected(operation, EnumInfraTransportType.CONSUL, refuse=self.failures.refuse)

    async def register_service(self, registration: ModelServiceRegistration) -> None:
        gate = self.gates.get(registration.service_id)
        if gate is not None:
            self.reached[registration.service_id].set()
            await gate.wait()
        await self._enter("register_service")
        await self.inner.register_service(registration)

    async def deregister_service(self, service_id: str) -> bool:
        await self._enter("deregister_service")
        return await self.inner.deregister_service(service_id)

    async def update_ttl_check(
        self, check_id: str, status: EnumCheckStatus, note: str = ""
    ) -> bool:
        await self._enter("update_ttl_check")
        return await self.inner.update_ttl_check(check_id, status, note)

    async def healthy_instances(
        self,
        service_name: str,
        *,
        tag: str | None = None,
        blocking: ModelBlockingQuery | None = None,
    ) -> ModelServiceInstances:
        return await self.inner.healthy_instances(service_name, tag=tag, blocking=blocking)

    async def list_instances(
        self, service_name: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceInstances:
        return await self.inner.list_instances(service_name, blocking=blocking)

    async def list_services(
        self, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceCatalog:
        return await self.inner.list_services(blocking=blocking)

    async def kv_get(
        self, key: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelKvReadResult:
        return await self.inner.kv_get(key, blocking=blocking)

    async def kv_list(self, prefix: str) -> tuple[ModelKvEntry, ...]:
        return await self.inner.kv_list(prefix)

    async def kv_put(
        self, key: str, value: bytes, *, cas: int | None = None, flags: int = 0
    ) -> bool:
        return await self.inner.kv_put(key, value, cas=cas, flags=flags)

    async def kv_delete(self, key: str, *, cas: int | None = None) -> bool:
        return await self.inner.kv_delete(key, cas=cas)


def write_kind(query: str) -> str | None:
    """Which registration write a statement is (None: a read or another table)."""
    if "INSERT INTO onex_registrations" in query:
        return "register"
    if "UPDATE onex_registrations" in query:
        return "update"
    if "DELETE FROM onex_registrations" in query:
        return "delete"
    return None


class CountingPostgres(HandlerPostgres):
    """The real PostgreSQL handler, counting registration writes and failing some on request."""

    calls: Counter[str]
    failures: _Failures

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls = Counter()
        self.failures = _Failures()

    def fail(self, kind: str, times: int | None, *, node_id: UUID | None = None) -> None:
        """Fail the next ``times`` writes of ``kind`` (register/update/delete) as unavailable,
        of every node or only of ``node_id``."""
        self.failures.remaining[kind if node_id is None else f"{kind}:{node_id}"] = times

    def heal(self) -> None:
        """Stop injecting failures."""
        self.failures.remaining.clear()

    async def fetchval(self, query: str, *args: object, column: int = 0) -> object:
        kind = write_kind(query)
        if kind is not None:
            self._enter(kind, [args[0]])
        return await super().fetchval(query, *args, column=column)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        kind = write_kind(query)
        if kind is not None:  # a batch of writes: one array per column, node ids first
            nodes = args[0]
            assert isinstance(nodes, list)
            self._enter(kind, nodes)
        return await super().fetch(query, *args)

    def _enter(self, kind: str, nodes: list[object]) -> None:
        """Count a statement writing ``nodes``; fail it if a failure of any of them is due."""
        self.calls[kind] += 1
        # The kind's own failure is taken once per statement, each node's once per node in it.
        due = [self.failures.take(kind)] + [self.failures.take(f"{kind}:{n}") for n in nodes]
        if any(due):
            raise _injected(f"registration {kind}", EnumInfraTransportType.DATABASE, refuse=False)


async def publish_json(
    bus: EventBusInmemory,
    topic: str,
    payload: JsonValue,
    *,
    payload_type: str,
    key: UUID | None = None,
    correlation_id: UUID | None = None,
) -> JsonEnvelope:
    """Publish a JSON payload in an envelope, as any producer would."""
    envelope = JsonEnvelope(
        payload=payload,
        payload_type=payload_type,
        correlation_id=correlation_id or uuid4(),
        producer="test",
    )
    await bus.publish_envelope(envelope, topic, str(key).encode() if key else None)
    return envelope


async def wait_consumed(bus: EventBusInmemory) -> None:
    """Wait until every active consumer group has consumed everything published so far."""
    await asyncio.wait_for(bus.wait_idle(), timeout=120)


__all__ = [
    "EXPIRE_AFTER",
    "FAST_RETRY",
    "STALE_AFTER",
    "CountingDiscovery",
    "CountingPostgres",
    "Registry",
    "discovery_instances",
    "dlq_records",
    "fleet_of",
    "history",
    "node_ids_in",
    "passing_ids",
    "payloads",
    "publish_json",
    "registry_config",
    "running_registry",
    "states_by_node",
    "wait_consumed",
]
