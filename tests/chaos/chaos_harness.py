"""The fault-injection harness: a runtime on real servers, a fleet of nodes, and faults.

Two stacks, both entered with ``async with``:

``kafka_stack(...)`` -> ``KafkaChaosStack``
    the production profile as an operator runs it: ``onex-infra run`` (the installed CLI, a
    config file) as a child process on a Tansu broker of its own (real Kafka protocol), the
    test's PostgreSQL database (external, the DSN given as a secret reference ``env://``) and
    a fake Consul agent (``omnibase_infra.testing.FakeConsulAgent``) for discovery. The fleet runs
    in the test process on a Kafka bus of its own. Faults: ``postgres_down``/``postgres_up``
    (the server stopped and started on its port), ``pause_broker``/``resume_broker``
    (SIGSTOP/SIGCONT of Tansu), ``discovery_down``/``discovery_up`` (the agent refuses
    connections, keeping its registrations), ``kill_runtime``/``restart_runtime`` (SIGKILL,
    then the same command again). Dead letters are read from the DLQ topics.
``inmemory_stack(...)`` -> ``InmemoryChaosStack``
    the zero-configuration defaults (in-memory bus, local discovery, retry settings untouched),
    the runtime in the test process (the in-memory bus exists only there) with PostgreSQL
    external so it can be stopped. Faults: ``postgres_down``/``postgres_up``.

Both take ``config`` (a mapping deep-merged over the stack's runtime config, e.g.
``{"event_bus": {"max_message_bytes": 2048}}``), make fleets (``stack.fleet(size, ...)``, see
``chaos_fleet``), count where a fleet's nodes ended (``await stack.figures(fleet)``, see
``chaos_figures`` for the definitions) and wait until the counts settle
(``await stack.settle(fleet)``). Each fault's ``*_up``/``resume``/``restart`` returns the seconds
until ``/ready`` answered 200 again. ``stack.bus`` publishes anything else a test wants to send
(oversize or fuzzed messages to any topic); ``kafka_dead_letters(stack.kafka, topics)`` reads
the dead letters of any topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

from chaos_figures import (
    REGISTRATION_TOPICS,
    DeadLetter,
    ModelChaosFigures,
    TopicWatcher,
    count_figures,
    kafka_dead_letters,
)
from chaos_fleet import ChaosFleet
from chaos_runtime import RuntimeProcess, poll_not_ready, poll_ready
from pydantic import JsonValue

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_REJECTED
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure
from omnibase_infra.testing import FakeConsulAgent, TansuServer, free_port

__all__ = [
    "DSN_VARIABLE",
    "ChaosStack",
    "InmemoryChaosStack",
    "KafkaChaosStack",
    "deep_merge",
    "inmemory_stack",
    "kafka_stack",
]

DSN_VARIABLE = "ONEX_CHAOS_PG_DSN"
# Consumer-group timing for Tansu, whose joins wait on the session timeout: ~2 s per join.
_KAFKA_TUNING: dict[str, JsonValue] = {
    "session_timeout_ms": 2_000,
    "heartbeat_interval_ms": 300,
    "fetch_wait_max_ms": 20,
    "join_timeout_seconds": 60.0,
}
_SETTLE_POLL_SECONDS = 1.0


def deep_merge(
    base: Mapping[str, JsonValue], extra: Mapping[str, JsonValue]
) -> dict[str, JsonValue]:
    """``base`` with ``extra`` merged in (nested mappings merged, anything else replaced)."""
    merged: dict[str, JsonValue] = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


class ChaosStack:
    """What both stacks share: PostgreSQL, readiness, fleets and figures."""

    def __init__(
        self,
        *,
        postgres: EmbeddedPostgres,
        dsn: str,
        url: str,
        bus: EventBusBase,
        rejections: TopicWatcher,
    ) -> None:
        self.postgres = postgres
        self.dsn = dsn
        self.url = url
        self.bus = bus
        self.rejections = rejections

    @property
    def discovery(self) -> ProtocolServiceDiscovery:
        """Where registrations are read from discovery."""
        raise NotImplementedError

    async def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter of the registration topics so far."""
        raise NotImplementedError

    async def fleet(
        self, size: int, *, heartbeat_seconds: float = 5.0, service_name: str | None = None
    ) -> ChaosFleet:
        """A fleet of ``size`` nodes on the stack's bus, already listening for answers."""
        fleet = ChaosFleet(
            self.bus,
            size,
            service_name=service_name or f"chaos-{uuid4().hex[:8]}",
            heartbeat_seconds=heartbeat_seconds,
        )
        await fleet.listen()
        return fleet

    async def wait_ready(self, within: float = 60.0) -> float:
        """Seconds until ``/ready`` answers 200."""
        return await poll_ready(self.url, within=within)

    async def wait_not_ready(self, within: float = 60.0) -> float:
        """Seconds until ``/ready`` answers anything but 200 (the runtime saw the fault)."""
        return await poll_not_ready(self.url, within=within)

    async def postgres_down(self) -> None:
        """Stop PostgreSQL (the runtime's connections are refused until ``postgres_up``)."""
        await self.postgres.stop()

    async def postgres_up(self) -> float:
        """Start PostgreSQL again on its port; the seconds until ``/ready`` is 200 again."""
        await self.postgres.start()
        return await self.wait_ready()

    async def figures(
        self, fleet: ChaosFleet, recovery_seconds: float | None = None
    ) -> ModelChaosFigures:
        """Where the fleet's sent nodes ended now."""
        return await count_figures(
            fleet.sent_ids,
            postgres_dsn=self.dsn,
            discovery=self.discovery,
            service_name=fleet.service_name,
            dead_letters=await self.dead_letters(),
            rejections=self.rejections.keys,
            recovery_seconds=recovery_seconds,
        )

    async def settle(
        self, fleet: ChaosFleet, *, within: float = 180.0, recovery_seconds: float | None = None
    ) -> ModelChaosFigures:
        """Poll the figures until nothing is lost (every sent node registered or dead-lettered)
        and they stop changing, or ``within`` passed; the last figures."""
        await fleet.wait_sent()
        deadline = time.monotonic() + within
        previous: ModelChaosFigures | None = None
        while True:
            figures = await self.figures(fleet, recovery_seconds)
            if figures.lost == 0 and figures == previous:
                return figures
            if time.monotonic() > deadline:
                return figures
            previous = figures
            await asyncio.sleep(_SETTLE_POLL_SECONDS)


class KafkaChaosStack(ChaosStack):
    """The production profile in a child process (see module docstring)."""

    def __init__(
        self,
        *,
        postgres: EmbeddedPostgres,
        dsn: str,
        tansu: TansuServer,
        consul: FakeConsulAgent,
        runtime: RuntimeProcess,
        kafka: ModelKafkaSettings,
        bus: EventBusKafka,
        discovery: HandlerConsul,
        rejections: TopicWatcher,
    ) -> None:
        super().__init__(
            postgres=postgres, dsn=dsn, url=runtime.url, bus=bus, rejections=rejections
        )
        self.tansu = tansu
        self.consul = consul
        self.runtime = runtime
        self.kafka = kafka
        self._discovery = discovery

    @property
    def discovery(self) -> ProtocolServiceDiscovery:
        """The Consul agent, read over its HTTP API."""
        return self._discovery

    async def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter of the registration topics, read from the broker."""
        return await kafka_dead_letters(self.kafka)

    def pause_broker(self) -> None:
        """SIGSTOP the broker: it keeps its sockets and answers nothing."""
        assert self.tansu.pid is not None
        os.kill(self.tansu.pid, signal.SIGSTOP)

    async def resume_broker(self) -> float:
        """SIGCONT the broker; the seconds until ``/ready`` is 200 again."""
        assert self.tansu.pid is not None
        os.kill(self.tansu.pid, signal.SIGCONT)
        return await self.wait_ready()

    async def discovery_down(self) -> None:
        """The Consul agent refuses connections (its registrations are kept)."""
        await self.consul.go_down()

    async def discovery_up(self) -> float:
        """The agent answers again; the seconds until ``/ready`` is 200 again."""
        await self.consul.come_back()
        return await self.wait_ready()

    def kill_runtime(self) -> None:
        """SIGKILL the runtime (nothing drained, nothing committed after this)."""
        self.runtime.kill()

    async def restart_runtime(self) -> float:
        """Start the runtime again (same config); the seconds until ``/ready`` is 200."""
        await self.runtime.wait_exit()
        return await self.runtime.start()


def production_config(
    *, bootstrap_servers: str, consul_url: str, environment: str
) -> dict[str, JsonValue]:
    """The runtime config of ``kafka_stack``: production profile, retry settings untouched."""
    return {
        "profile": "production",
        "environment": environment,
        "event_bus": {
            "kind": "kafka",
            "kafka": {"bootstrap_servers": bootstrap_servers, **_KAFKA_TUNING},
        },
        "postgres": {"mode": "external", "dsn": f"env://{DSN_VARIABLE}"},
        "discovery": {
            "kind": "consul",
            "consul": {"base_url": consul_url, "timeout_seconds": 2.0},
        },
        "shutdown_grace_seconds": 15.0,
        "log_level": "INFO",
    }


@asynccontextmanager
async def kafka_stack(
    postgres: EmbeddedPostgres,
    workdir: Path,
    *,
    config: Mapping[str, JsonValue] | None = None,
) -> AsyncIterator[KafkaChaosStack]:
    """Tansu, a database of its own, a fake Consul agent and ``onex-infra run`` on them."""
    await postgres.start()
    database = f"chaos_{uuid4().hex[:16]}"
    await postgres.create_database(database)
    dsn = postgres.dsn(database)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(_drop_database, postgres, database)
        tansu = TansuServer().start()
        stack.callback(tansu.stop)
        stack.callback(_resume, tansu)  # never leave a paused broker behind
        consul = FakeConsulAgent()
        await consul.start()
        stack.push_async_callback(consul.stop)
        values = production_config(
            bootstrap_servers=tansu.bootstrap_servers,
            consul_url=consul.base_url,
            environment=f"chaos-{uuid4().hex[:8]}",
        )
        runtime = RuntimeProcess(
            deep_merge(values, config or {}),
            workdir=workdir,
            http_port=free_port(),
            env={DSN_VARIABLE: dsn},
        )
        # The end of a test needs no drain (a test about stopping stops the runtime itself).
        stack.push_async_callback(runtime.kill_and_wait)
        await runtime.start()
        kafka = ModelKafkaSettings.model_validate(
            {"bootstrap_servers": tansu.bootstrap_servers, **_KAFKA_TUNING}
        )
        bus = EventBusKafka(kafka)
        await bus.start()
        stack.push_async_callback(bus.close)
        discovery = HandlerConsul(ModelConsulSettings(base_url=consul.base_url))
        await discovery.start()
        stack.push_async_callback(discovery.close)
        rejections = TopicWatcher(bus, [TOPIC_NODE_REJECTED])
        await rejections.start()
        stack.push_async_callback(rejections.stop)
        yield KafkaChaosStack(
            postgres=postgres,
            dsn=dsn,
            tansu=tansu,
            consul=consul,
            runtime=runtime,
            kafka=kafka,
            bus=bus,
            discovery=discovery,
            rejections=rejections,
        )


class InmemoryChaosStack(ChaosStack):
    """The zero-configuration defaults, the runtime in this process (see module docstring)."""

    def __init__(
        self,
        *,
        postgres: EmbeddedPostgres,
        dsn: str,
        host: RuntimeHostProcess,
        bus: EventBusInmemory,
        discovery: ProtocolServiceDiscovery,
        dead: TopicWatcher,
        rejections: TopicWatcher,
    ) -> None:
        assert host.http_port is not None
        super().__init__(
            postgres=postgres,
            dsn=dsn,
            url=f"http://127.0.0.1:{host.http_port}",
            bus=bus,
            rejections=rejections,
        )
        self.host = host
        self._discovery = discovery
        self._dead = dead

    @property
    def discovery(self) -> ProtocolServiceDiscovery:
        """The runtime's own local discovery backend."""
        return self._discovery

    async def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter of the registration topics on the in-memory bus."""
        return self._dead.dead_letters


@asynccontextmanager
async def inmemory_stack(
    postgres: EmbeddedPostgres, *, config: Mapping[str, JsonValue] | None = None
) -> AsyncIterator[InmemoryChaosStack]:
    """The runtime with its defaults (PostgreSQL external, by reference) in this process."""
    await postgres.start()
    database = f"chaos_{uuid4().hex[:16]}"
    await postgres.create_database(database)
    dsn = postgres.dsn(database)
    values: dict[str, JsonValue] = {
        "postgres": {"mode": "external", "dsn": f"env://{DSN_VARIABLE}"},
        "http": {"port": 0},
        "shutdown_grace_seconds": 15.0,
    }
    runtime_config = load_runtime_config(None, **deep_merge(values, config or {}))
    previous = os.environ.get(DSN_VARIABLE)
    os.environ[DSN_VARIABLE] = dsn
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(_drop_database, postgres, database)
            infra = await stack.enter_async_context(build_infrastructure(runtime_config))
            host = RuntimeHostProcess(
                runtime_config,
                handlers=infra.handlers,
                services=infra.services,
                components=infra.components,
                exclude_nodes=infra.exclude_nodes,
            )
            bus = host.bus
            assert isinstance(bus, EventBusInmemory)
            await host.start()
            stack.push_async_callback(host.stop)
            dead = TopicWatcher(bus, [dlq_topic_for(topic) for topic in REGISTRATION_TOPICS])
            rejections = TopicWatcher(bus, [TOPIC_NODE_REJECTED])
            for watcher in (dead, rejections):
                await watcher.start()
            discovery = infra.services[ProtocolServiceDiscovery]
            assert isinstance(discovery, ProtocolServiceDiscovery)
            yield InmemoryChaosStack(
                postgres=postgres,
                dsn=dsn,
                host=host,
                bus=bus,
                discovery=discovery,
                dead=dead,
                rejections=rejections,
            )
    finally:
        if previous is None:
            os.environ.pop(DSN_VARIABLE, None)
        else:
            os.environ[DSN_VARIABLE] = previous


def _resume(tansu: TansuServer) -> None:
    if tansu.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(tansu.pid, signal.SIGCONT)


async def _drop_database(postgres: EmbeddedPostgres, database: str) -> None:
    await postgres.start()
    await postgres.drop_database(database)
