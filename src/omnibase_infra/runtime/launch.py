"""Running the runtime for a config (``onex-infra run``): signals, hub, infrastructure, host.

The order makes every moment of a start answerable and interruptible:

1. SIGTERM/SIGINT handlers first: a signal during the start cancels it; what started is
   stopped (the embedded PostgreSQL included) and the process exits ``128 + signal``.
2. The hub: ``/health`` answers from the first second; ``/ready`` answers 503 naming what
   the start still waits for.
3. The infrastructure (Vault, PostgreSQL, the bus), then the host (contracts, handlers,
   consumer groups). Once started, a signal asks for a graceful stop (a second one cuts the
   drain short), and the exit code says whether everything drained.

On Kafka the consumer groups begin joining first, from the contracts' YAML (a join is a broker
round of seconds): they join paused while the runtime's modules import (in a thread), the
contracts validate and the host wires, and the host's own join adopts them. Settings with
secrets to resolve join once the infrastructure resolved them instead. A group the host will
not run (its node is left out) is left as soon as that is known, before it is assigned, and
every group not adopted is left once the start ends; nothing is fetched or committed before
the host resumes a group.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from collections.abc import Coroutine
from typing import TYPE_CHECKING

import uvloop

from omnibase_infra.models.model_readiness_report import ModelReadinessReport
from omnibase_infra.observability.logging import configure_logging, get_logger
from omnibase_infra.observability.tracing import configure_tracing, shutdown_tracing
from omnibase_infra.runtime.boot import BootProgress
from omnibase_infra.runtime.config import ModelRuntimeConfig

if TYPE_CHECKING:
    # Imported when the start needs them (``_import_runtime``): the groups join meanwhile.
    from omnibase_infra.event_bus.kafka.bus import EventBusKafka
    from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
    from omnibase_infra.runtime.expected_groups import ExpectedGroups
    from omnibase_infra.runtime.host import RuntimeHostProcess
    from omnibase_infra.runtime.http.server import HubServer
    from omnibase_infra.runtime.infrastructure import ModelInfrastructure

__all__ = ["run_event_loop", "serve_runtime"]

_log = get_logger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_event_loop[T](main: Coroutine[object, object, T]) -> T:
    """Run ``main`` to completion on uvloop, the runtime's event loop.

    The runtime's hot paths are callback-heavy (bus deliveries, database round trips); uvloop
    runs them with a fraction of the standard loop's overhead and asyncpg is built for it.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def serve_runtime(config: ModelRuntimeConfig) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code (see module docstring)."""
    configure_logging(config.log_level, config.log_format)
    configure_tracing(config.tracing, service_name=config.service)
    try:
        return await _Launch(config).run()
    finally:
        shutdown_tracing()  # flushes the spans still batched


class _Launch:
    """One ``onex-infra run``: who gets a signal depends on how far the start got."""

    def __init__(self, config: ModelRuntimeConfig) -> None:
        self._config = config
        self._boot = BootProgress()
        self._hub: HubServer | None = None
        self._host: RuntimeHostProcess | None = None
        self._starting: asyncio.Task[RuntimeHostProcess] | None = None
        self._signal: int | None = None
        self._early_groups = 0  # how many Kafka groups began joining early
        self._first_groups: ExpectedGroups = {}  # the groups the first joins began

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            async with contextlib.AsyncExitStack() as stack:
                self._starting = asyncio.create_task(self._start(stack), name="runtime-start")
                try:
                    host = await self._starting
                except asyncio.CancelledError:
                    if self._signal is None:
                        raise  # cancelled from outside, not by a signal
                    _log.warning(
                        "start aborted",
                        signal=signal.Signals(self._signal).name,
                        seconds=self._boot.seconds,
                    )
                    return 128 + self._signal
                return await host.run_until_stopped()
        finally:
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)
            if self._hub is not None:
                await self._hub.stop()

    def _on_signal(self, signum: int) -> None:
        """During the start: abort it (once). Started: stop; again while stopping: at once."""
        if self._host is not None and self._host.started:
            self._host.request_stop()
            return
        if self._signal is None:
            self._signal = signum
            _log.warning(
                "stop signal during start",
                signal=signal.Signals(signum).name,
                pending=list(self._boot.pending()),
            )
            if self._starting is not None:
                self._starting.cancel()

    async def _start(self, stack: contextlib.AsyncExitStack) -> RuntimeHostProcess:
        self._boot.watch()
        stack.callback(self._boot.done)
        config = self._config
        kafka = config.event_bus.kafka
        first = None
        if config.event_bus.kind == "kafka" and not (kafka.sasl_password or kafka.ssl_key_password):
            first = await self._join_first(stack)
        embedded = self._start_embedded_postgres(stack)
        await asyncio.to_thread(_import_runtime)
        from omnibase_infra.runtime.dashboard.component import dashboard_components
        from omnibase_infra.runtime.host import RuntimeHostProcess
        from omnibase_infra.runtime.http.hub import create_hub_app
        from omnibase_infra.runtime.http.server import HubServer
        from omnibase_infra.runtime.infrastructure import build_infrastructure
        from omnibase_infra.runtime.ingress_component import ingress_components

        if config.http.enabled:
            with self._boot.step("hub") as facts:
                self._hub = HubServer(
                    create_hub_app(self._readiness), config.http.host, config.http.port
                )
                facts["http_port"] = await self._hub.start()
        with self._boot.step("infrastructure", _infrastructure_waits(config)):
            infra = await stack.enter_async_context(build_infrastructure(config, embedded=embedded))
        early = await self._join_early(infra, first, stack)
        self._host = RuntimeHostProcess(
            config,
            bus=infra.bus,
            handlers=infra.handlers,
            services=infra.services,
            components=[
                *infra.components,
                *ingress_components(config.ingress),
                *dashboard_components(config),
            ],
            exclude_nodes=infra.exclude_nodes,
            hub=self._hub,
            boot=self._boot,
        )
        await self._host.start()
        if early is not None:
            left = await early.discard_early_joins(wait=False)  # what the host did not adopt
            _log.info("early joins", adopted=self._early_groups - len(left), left=left)
        if first is not None:
            await first.close()  # its joins were handed on and are adopted or left
        return self._host

    def _start_embedded_postgres(
        self, stack: contextlib.AsyncExitStack
    ) -> asyncio.Task[EmbeddedPostgres] | None:
        """Begin the embedded server's start now, beside the imports that follow (it is the
        local profile's slowest step); the infrastructure awaits it. None when not embedded."""
        settings = self._config.postgres
        if settings.mode != "embedded":
            return None
        from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(settings.data_dir, die_with_parent=True)
        # Stopped whatever happens to the start (LIFO: the task is cancelled first); a server
        # that never started stops as a no-op.
        stack.push_async_callback(server.stop)

        async def start() -> EmbeddedPostgres:
            await server.start()
            return server

        task = asyncio.create_task(start(), name="embedded-postgres-start")
        stack.push_async_callback(_cancel_and_wait, task)
        return task

    async def _join_first(self, stack: contextlib.AsyncExitStack) -> EventBusKafka:
        """Begin joining the groups the contracts' YAML names, on a bus of the configured
        settings, before anything else imports; the infrastructure's bus takes them over."""
        config = self._config
        bus, groups = await asyncio.to_thread(_first_joins, config)
        self._first_groups = groups
        # Closed after the infrastructure's bus (which awaits the joins it took over) closed.
        stack.push_async_callback(bus.close)
        bus.join_early(groups)
        return bus

    async def _join_early(
        self,
        infra: ModelInfrastructure,
        first: EventBusKafka | None,
        stack: contextlib.AsyncExitStack,
    ) -> EventBusKafka | None:
        """Take over the first joins, or begin them now (see module docstring); leave those of
        nodes the host will not run. The bus that joins, on Kafka."""
        # Imported only on Kafka, like the bus: librdkafka is not needed by the local profile.
        from omnibase_infra.event_bus.kafka.bus import EventBusKafka
        from omnibase_infra.runtime.expected_groups import expected_groups, without_nodes

        bus = infra.bus
        if not isinstance(bus, EventBusKafka):
            return None
        if first is not None:  # the contracts were read for the first joins
            groups = without_nodes(self._first_groups, self._config, infra.exclude_nodes)
        else:
            groups = await asyncio.to_thread(expected_groups, self._config, infra.exclude_nodes)
        stack.push_async_callback(bus.discard_early_joins)  # a start that fails or is aborted
        if first is not None:
            bus.take_early_joins(first)
        bus.join_early(groups)
        # Left in the background: a join under way is left only once the broker answers it.
        await bus.discard_early_joins(keep=groups, wait=False)
        self._early_groups = len(groups)
        return bus

    async def _readiness(self) -> ModelReadinessReport:
        """The host's readiness once it exists; before that, what the start waits for."""
        if self._host is not None:
            return await self._host.readiness()
        return self._boot.report()


async def _cancel_and_wait(task: asyncio.Task[EmbeddedPostgres]) -> None:
    """Cancel ``task`` if it is still running and wait for it to end (its error is the
    start's to report, not the stop's)."""
    task.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task


def _first_joins(config: ModelRuntimeConfig) -> tuple[EventBusKafka, ExpectedGroups]:
    """A Kafka bus of ``config`` and the groups its contracts' YAML names (every node's)."""
    from omnibase_infra.event_bus.kafka.bus import EventBusKafka
    from omnibase_infra.runtime.expected_groups import expected_groups

    bus = EventBusKafka(config.event_bus.kafka, environment=config.environment)
    return bus, expected_groups(config, {})


def _import_runtime() -> None:
    """Import the modules the start needs (blocking; run in a thread while groups join)."""
    for module in _RUNTIME_MODULES:
        importlib.import_module(module)


_RUNTIME_MODULES = (
    "omnibase_infra.runtime.http.hub",
    "omnibase_infra.runtime.http.server",
    "omnibase_infra.runtime.infrastructure",
    "omnibase_infra.runtime.host",
    "omnibase_infra.runtime.ingress_component",
    "omnibase_infra.runtime.dashboard.component",
)


def _infrastructure_waits(config: ModelRuntimeConfig) -> list[str]:
    """What the infrastructure step starts, for ``/ready`` while it runs."""
    waits = ["vault"] if config.vault is not None else []
    if config.postgres.mode == "embedded":
        waits.append("embedded postgres")
    elif config.postgres.mode == "external":
        waits.append("postgres settings")
    if config.discovery.kind == "consul":
        waits.append("consul settings")
    return waits
