"""RuntimeHostProcess: the process that runs ONEX nodes against real infrastructure.

Start: serve ``/health`` at once (``/ready`` answers 503 naming what is pending), discover and
validate every contract (all or nothing), import the handlers they name (allowlist only), wire
the routes, then join every node's consumer group, concurrently and while the handlers and
components start (deliveries are held until they are up; with ``startup: degraded`` a
dependency down at start is left pending, named by ``/ready``, and deliveries wait until
``RuntimeDependencies`` has connected it). ``runtime ready`` is logged only when ``/ready``
would say so; otherwise the log says what fails. Stop (SIGTERM/SIGINT): refuse
new work, drain what the bus already accepted and leave the consumer groups (offsets committed)
within the grace period, then close handlers and stop serving; ``drained`` is true only when
nothing begun was cut short, every handled message was committed and every publish acked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from fastapi import APIRouter

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.dispatch.protocols import ProtocolFailurePolicy
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_readiness_report import ModelReadinessReport
from omnibase_infra.observability.logging import configure_logging, get_logger
from omnibase_infra.runtime.boot import BootProgress
from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.consumer_groups import ConsumerGroups
from omnibase_infra.runtime.container_wiring import wire_infrastructure_services_async
from omnibase_infra.runtime.contracts.contract_loader import load_node_contracts
from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.dependencies import RuntimeDependencies
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.http.health_checks import bus_check, failing
from omnibase_infra.runtime.http.hub import create_hub_app
from omnibase_infra.runtime.http.server import HubServer
from omnibase_infra.runtime.node_wiring import build_routes
from omnibase_infra.runtime.plugins.protocol_runtime_component import ProtocolRuntimeComponent
from omnibase_infra.runtime.policies.loader import build_policy_registry
from omnibase_infra.runtime.policies.registry import PolicyRegistry
from omnibase_infra.runtime.progress_watchdog import ConsumerProgressWatchdog
from omnibase_infra.runtime.shutdown import StopStep, drain, pending_messages, run_stop_steps

__all__ = ["RuntimeHostProcess"]

_log = get_logger(__name__)

# A stop's teardown (closing clients, handlers, the hub) gets what the drain left of the grace
# period, at least this much: part of the grace period is kept for it.
_TEARDOWN_SECONDS = 2.0
# How often a runtime that started not ready checks whether it became ready (to log it).
_READY_WATCH_SECONDS = 1.0
# How often the host itself retries dependencies down at start when no health monitor does.
_RECOVER_SECONDS = 2.0


class RuntimeHostProcess:
    """Owns the bus, the engine, the container, the handlers and the HTTP hub (see module)."""

    def __init__(
        self,
        config: ModelRuntimeConfig,
        *,
        bus: EventBusBase | None = None,
        handlers: Sequence[ProtocolInfraHandler] = (),
        services: Mapping[type[object], object] | None = None,
        components: Sequence[ProtocolRuntimeComponent] = (),
        routers: Sequence[APIRouter] = (),
        failure_policy: ProtocolFailurePolicy | None = None,
        exclude_nodes: Mapping[str, str] | None = None,
        hub: HubServer | None = None,
        boot: BootProgress | None = None,
    ) -> None:
        """``hub``: a hub already serving (the launcher starts it first), else the host starts
        its own; ``boot``: the start's progress, shared with whoever began it."""
        self.config = config
        self._exclude_nodes = dict(exclude_nodes or {})
        self.bus = bus or self._default_bus(config)
        retry = config.event_bus.retry
        if failure_policy is None and retry is not None:
            # In memory, a retry republished to a retry topic would compete for the bus's
            # bounded capacity with its own later retries: redeliver in place instead.
            failure_policy = RetryFailurePolicy(
                self.bus, retry, redeliver=isinstance(self.bus, EventBusInmemory)
            )
        self.engine = MessageDispatchEngine(
            self.bus,
            failure_policy=failure_policy,
            max_message_bytes=config.event_bus.max_message_bytes,
            environment=config.environment,
            service=config.service,
            auto_offset_reset=config.event_bus.auto_offset_reset,
        )
        self.container = ModelONEXContainer()
        self.handlers = list(handlers)
        self.components = list(components)
        self.dependencies = RuntimeDependencies(
            self.handlers, fail_fast=config.startup == "fail_fast"
        )
        self._recovering: asyncio.Task[None] | None = None
        self._services = dict(services or {})
        self._routers = list(routers)
        self.contracts: list[ModelNodeContract] = []
        self.policies = PolicyRegistry()
        self._groups = ConsumerGroups(self.bus, self.engine)
        self.watchdog = ConsumerProgressWatchdog(
            self.bus,
            stuck_after_seconds=config.event_bus.stuck_after_seconds,
            slack_seconds=self._retry_slack,
        )
        self._http: HubServer | None = hub
        self._owns_hub = hub is None
        self.boot = boot or BootProgress()
        self._ready_watch: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._abort_requested = asyncio.Event()
        self.started_at = 0.0

    def _retry_slack(self, group_id: str) -> float:
        """A retry group holds a message until it is due, by design: up to the longest delay."""
        retry = self.config.event_bus.retry
        if retry is None or group_id not in self._groups.retry_groups:
            return 0.0
        return retry.max_delay_seconds

    @staticmethod
    def _default_bus(config: ModelRuntimeConfig) -> EventBusBase:
        if config.event_bus.kind == "inmemory":
            return EventBusInmemory(
                partitions=config.event_bus.partitions,
                capacity=config.event_bus.capacity,
                capacity_bytes=config.event_bus.capacity_bytes,
                retention=config.event_bus.retention,
                retention_bytes=config.event_bus.retention_bytes,
                publish_timeout_seconds=config.event_bus.publish_timeout_seconds,
                in_flight_per_partition=config.event_bus.in_flight_per_partition,
                max_message_bytes=config.event_bus.max_message_bytes,
                park_seconds=config.event_bus.park_seconds,
                environment=config.environment,
            )
        raise ProtocolConfigurationError(
            "event_bus.kind 'kafka': build the bus with runtime.infrastructure (it resolves the "
            "credentials) and pass it to RuntimeHostProcess",
            field="event_bus.kind",
        )

    @property
    def allowlist(self) -> tuple[str, ...]:
        """Module prefixes handler imports may come from."""
        return self.config.allowlist

    @property
    def started(self) -> bool:
        """Whether the start finished (a stop signal now means a graceful stop)."""
        return self._started

    @property
    def http_port(self) -> int | None:
        """The hub's bound port once serving."""
        return self._http.port if self._http else None

    def add_router(self, router: APIRouter) -> None:
        """Mount an extra router on the hub (at once if it already serves)."""
        self._routers.append(router)
        if self._http is not None:
            self._http.app.include_router(router)

    # -- start --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; on any failure or cancellation, tear down what started."""
        configure_logging(self.config.log_level, self.config.log_format)
        self.started_at = time.monotonic()
        self.boot.watch()
        try:
            await self._start()
        except BaseException:
            await self._teardown(deadline=time.monotonic() + _TEARDOWN_SECONDS)
            raise
        finally:
            self.boot.done()
        self._started = True
        if self.dependencies.pending and not self.dependencies.driven:
            # No health monitor reconnects them: the host retries on its own.
            self._recovering = asyncio.create_task(
                self.dependencies.run(_RECOVER_SECONDS, self._stop_requested),
                name="runtime-recover",
            )
        await self._announce()

    async def _start(self) -> None:
        await self._serve_hub()
        with self.boot.step("contracts") as facts:
            # Policies first, frozen: contracts resolve their references in what is final.
            self.policies = await asyncio.to_thread(
                build_policy_registry,
                self.config.policies,
                allowlist=self.allowlist,
                config_file=self.config.source_file,
            )
            self.contracts = await asyncio.to_thread(
                load_node_contracts,
                self.config.contract_dirs,
                allowlist=self.allowlist,
                use_entry_points=self.config.use_entry_points,
                exclude=self._exclude_nodes,
                policies=self.policies,
            )
            facts["nodes"] = len(self.contracts)
            facts["policies"] = len(self.policies.entries())
        await self.bus.start()
        services: dict[type[object], object] = {
            EventBusBase: self.bus,
            MessageDispatchEngine: self.engine,
            # Nodes read contracts and their settings from the container, never the host.
            ModelLoadedContracts: ModelLoadedContracts(contracts=tuple(self.contracts)),
            PolicyRegistry: self.policies,
            # The health monitor pings and reconnects through it (the runtime knows no node).
            RuntimeDependencies: self.dependencies,
        }
        for handler in self.handlers:
            services[type(handler)] = handler
        services.update(self._services)
        await wire_infrastructure_services_async(self.container, services)
        for route in build_routes(self.contracts, self.container, self.allowlist):
            self.engine.add_route(route)
        # The groups join (seconds on Kafka) while handlers and components start; no message
        # reaches a node before those are up.
        self.engine.hold()
        joins = asyncio.create_task(self._join(), name="runtime-join")
        try:
            with self.boot.step("handlers") as facts:
                await self.dependencies.start_handlers()
                facts["handlers"] = [handler.handler_name for handler in self.handlers]
            with self.boot.step("components") as facts:
                await self.dependencies.start_components(self.components, self)
                facts["components"] = [component.name for component in self.components]
            if self.dependencies.pending:
                # Degraded start: nothing is handled until what was down at start is up.
                self.dependencies.on_recovered(self.engine.release)
            else:
                self.engine.release()
            await joins
            await self.watchdog.start()
        except BaseException:
            joins.cancel()
            await asyncio.gather(joins, return_exceptions=True)
            raise

    async def _serve_hub(self) -> None:
        """Serve the hub first (unless the launcher already does), so it is never dark."""
        if self._http is not None:
            for router in self._routers:
                self._http.app.include_router(router)
            return
        if not self.config.http.enabled:
            return
        with self.boot.step("hub") as facts:
            self._http = HubServer(
                create_hub_app(self.readiness, self._routers),
                self.config.http.host,
                self.config.http.port,
            )
            facts["http_port"] = await self._http.start()

    async def _join(self) -> None:
        """Join the nodes' groups and their retry groups, all at once."""
        with self.boot.step("consumer groups", lambda: self._groups.pending) as facts:
            facts["groups"] = await self._groups.join()

    async def _announce(self) -> None:
        """Log "runtime ready" only when /ready says so; else what fails, then watch."""
        report = await self.readiness()
        facts: dict[str, object] = {
            "profile": self.config.profile,
            "nodes": len(self.contracts),
            "routes": len(self.engine.routes),
            "http_port": self.http_port,
        }
        if report.ready:
            _log.info("runtime ready", seconds=self.boot.seconds, **facts)
            return
        _log.warning(
            "runtime started, not ready",
            seconds=self.boot.seconds,
            failing=failing(report.checks),
            **facts,
        )
        self._ready_watch = asyncio.create_task(self._watch_until_ready(facts), name="ready-watch")

    async def _watch_until_ready(self, facts: dict[str, object]) -> None:
        while not self._stopping:
            await asyncio.sleep(_READY_WATCH_SECONDS)
            if (await self.readiness()).ready:
                _log.info("runtime ready", seconds=self.boot.seconds, **facts)
                return

    # -- health -------------------------------------------------------------------------------

    async def readiness(self) -> ModelReadinessReport:
        """Run every check (bus and handlers) concurrently; ready when all pass and started.

        While starting, the report names what the start still waits for.
        """
        bus, handlers = await asyncio.gather(bus_check(self.bus), self.dependencies.checks())
        checks = (bus, *handlers, self.watchdog.check())
        if self._stopping:
            return ModelReadinessReport(ready=False, status="stopping", checks=checks)
        if not self._started:
            return self.boot.report(checks)
        ready = all(check.healthy for check in checks)
        return ModelReadinessReport(
            ready=ready, status="ready" if ready else "not ready", checks=checks
        )

    # -- stop ---------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask ``run_until_stopped`` to stop (SIGTERM/SIGINT); asked again while draining, stop
        at once."""
        if self._stop_requested.is_set():
            self._abort_requested.set()
        self._stop_requested.set()

    async def run_until_stopped(self) -> int:
        """Serve until ``request_stop``, then stop gracefully; returns the exit code.

        0 when everything accepted was handled; 1 when the grace period ran out or a second
        signal cut the drain short (the log says how many messages were pending).
        """
        frozen = freeze_boot_heap()
        _log.debug("boot heap frozen", objects=frozen)
        await self._stop_requested.wait()
        return 0 if await self.stop() else 1

    async def stop(self) -> bool:
        """Drain and stop within the grace period; True when nothing begun was left.

        The components (the runtime's own producers, such as the ticker) stop first, so no new
        work starts; then what the bus accepted is handled and the consumer groups are left
        (offsets committed); the rest of the grace period (at least ``_TEARDOWN_SECONDS``)
        closes everything. ``request_stop`` during the drain, or the grace period running
        out, cuts it short.
        """
        if self._stopping:
            return True
        self._stopping = True
        began = time.monotonic()
        grace = self.config.shutdown_grace_seconds
        deadline = began + grace
        _log.info("runtime stopping", grace_seconds=grace, pending=await pending_messages(self.bus))
        reason = await drain(
            self.components,
            self.bus,
            self._groups,
            self._abort_requested,
            max(grace - _TEARDOWN_SECONDS, grace / 2),
        )
        if reason is not None:
            _log.error(
                "stopped before draining",
                reason=reason,
                grace_seconds=grace,
                pending=await pending_messages(self.bus),
            )
        await self._teardown(deadline=max(deadline, time.monotonic() + _TEARDOWN_SECONDS / 4))
        left = self.bus.stop_report()
        drained = reason is None and left.clean
        _log.info(
            "runtime stopped",
            drained=drained,
            seconds=round(time.monotonic() - began, 3),
            left_for_next_consumer=left.uncommitted,
            commit_failures=left.commit_failures,
            unflushed=left.unflushed,
        )
        return drained

    async def _teardown(self, deadline: float | None = None) -> None:
        """Stop whatever started, in reverse order, never raising (``run_stop_steps``)."""
        for task in (self._ready_watch, self._recovering):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._ready_watch = self._recovering = None
        policy = self.engine.failure_policy
        steps: list[StopStep] = [
            self.watchdog.stop,
            # Messages held for a retry are let go (nacked: redelivered by the next start).
            *((policy.close,) if isinstance(policy, RetryFailurePolicy) else ()),
            self._groups.close,
            *(component.stop for component in reversed(self.components)),
            self.bus.close,
            *(handler.close for handler in reversed(self.handlers)),
        ]
        if self._owns_hub and self._http is not None:
            steps.append(self._http.stop)
        await run_stop_steps(steps, deadline)
        if self._owns_hub:
            self._http = None
        self._started = False
