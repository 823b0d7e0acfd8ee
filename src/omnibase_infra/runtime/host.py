"""RuntimeHostProcess: the process that runs ONEX nodes against real infrastructure.

Start: configure logging, build the bus and the dispatch engine, register the infrastructure
services in core's container, discover and validate every contract (all or nothing), import
the handlers they name (allowlist only), start the handlers and components, subscribe, serve
``/health``, ``/ready`` and ``/metrics``. Stop (SIGTERM/SIGINT): refuse new work, drain what the
bus already accepted within the grace period, leave the consumer groups once in-flight
messages finish (offsets committed), close handlers, stop serving.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from fastapi import APIRouter

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.dispatch.protocols import ProtocolFailurePolicy
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.retry import RetryConsumer, RetryFailurePolicy
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.models.model_readiness_report import ModelReadinessReport
from omnibase_infra.observability.logging import configure_logging, get_logger
from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.container_wiring import wire_infrastructure_services
from omnibase_infra.runtime.contract_loader import discover_contract_files, load_contracts
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.http_hub import create_hub_app
from omnibase_infra.runtime.http_server import HubServer
from omnibase_infra.runtime.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.node_wiring import build_routes
from omnibase_infra.runtime.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.sanitize import sanitize_text

__all__ = ["ProtocolRuntimeComponent", "RuntimeHostProcess"]

_log = get_logger(__name__)

# How long each stop step may take once the drain was cut short (a stuck handler is left).
_FORCED_STEP_SECONDS = 2.0
# How long /ready waits for one handler's ping before reporting it failed.
PING_TIMEOUT_SECONDS = 5.0


async def _ping(handler: ProtocolInfraHandler) -> ModelHealthCheckResult:
    """A handler's ping, bounded; one that raises or hangs is a failed check, not a 500."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            return await handler.ping()
    except TimeoutError:
        return ModelHealthCheckResult(
            name=handler.handler_name,
            healthy=False,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=f"ping did not answer within {PING_TIMEOUT_SECONDS} s",
        )
    except Exception as exc:  # the handler broke its never-raise rule; report, do not crash
        return ModelHealthCheckResult.failed(
            handler.handler_name, exc, (time.perf_counter() - started) * 1000
        )


def _sanitised(result: ModelHealthCheckResult) -> ModelHealthCheckResult:
    if result.detail is None:
        return result
    return result.model_copy(update={"detail": sanitize_text(result.detail)})


class ProtocolRuntimeComponent(Protocol):
    """Something the host starts after wiring and stops before closing handlers."""

    @property
    def name(self) -> str:
        """Name in logs and readiness reports."""
        ...

    async def start(self, host: RuntimeHostProcess) -> None:
        """Start (may register services, publish, spawn bounded background tasks)."""
        ...

    async def stop(self) -> None:
        """Stop background work; safe to call when not started."""
        ...


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
    ) -> None:
        self.config = config
        self._exclude_nodes = dict(exclude_nodes or {})
        self.bus = bus or self._default_bus(config)
        retry = config.event_bus.retry
        if failure_policy is None and retry is not None:
            failure_policy = RetryFailurePolicy(self.bus, retry)
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
        self._services = dict(services or {})
        self._routers = list(routers)
        self.contracts: list[ModelNodeContract] = []
        self._retry_consumers: list[RetryConsumer] = []
        self._http: HubServer | None = None
        self._started = False
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._abort_requested = asyncio.Event()
        self.started_at = 0.0

    @staticmethod
    def _default_bus(config: ModelRuntimeConfig) -> EventBusBase:
        if config.event_bus.kind == "inmemory":
            return EventBusInmemory(
                partitions=config.event_bus.partitions,
                capacity=config.event_bus.capacity,
                retention=config.event_bus.retention,
                in_flight_per_partition=config.event_bus.in_flight_per_partition,
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
        return (*DEFAULT_ALLOWLIST, *self.config.plugin_allowlist)

    @property
    def http_port(self) -> int | None:
        """The hub's bound port once serving."""
        return self._http.port if self._http else None

    def add_router(self, router: APIRouter) -> None:
        """Mount an extra router on the hub (before ``start``)."""
        self._routers.append(router)

    # -- start --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; on any failure, tear down what started and re-raise."""
        configure_logging(self.config.log_level, self.config.log_format)
        self.started_at = time.monotonic()
        try:
            await self._start()
        except BaseException:
            await self._teardown()
            raise
        self._started = True
        _log.info(
            "runtime ready",
            profile=self.config.profile,
            nodes=len(self.contracts),
            routes=len(self.engine.routes),
            http_port=self.http_port,
            seconds=round(time.monotonic() - self.started_at, 3),
        )

    async def _start(self) -> None:
        self.contracts = await asyncio.to_thread(self._load_contracts)
        await self.bus.start()
        for handler in self.handlers:
            await handler.start()
        services: dict[type[object], object] = {
            EventBusBase: self.bus,
            MessageDispatchEngine: self.engine,
            RuntimeHostProcess: self,
        }
        for handler in self.handlers:
            services[type(handler)] = handler
        services.update(self._services)
        await wire_infrastructure_services(self.container, services)
        for route in build_routes(self.contracts, self.container, self.allowlist):
            self.engine.add_route(route)
        for component in self.components:
            await component.start(self)
        await self.engine.start()
        retry = self.config.event_bus.retry
        if retry is not None and isinstance(self.engine.failure_policy, RetryFailurePolicy):
            for topic, group in self.engine.consumer_groups:
                consumer = RetryConsumer(
                    self.bus, self.engine, topic=topic, consumer_group=group, settings=retry
                )
                await consumer.start()
                self._retry_consumers.append(consumer)
        if self.config.http.enabled:
            self._http = HubServer(
                create_hub_app(self.readiness, self._routers),
                self.config.http.host,
                self.config.http.port,
            )
            await self._http.start()

    def _load_contracts(self) -> list[ModelNodeContract]:
        files = discover_contract_files(
            self.config.contract_dirs,
            allowlist=self.allowlist,
            use_entry_points=self.config.use_entry_points,
        )
        contracts = load_contracts(files, allowlist=self.allowlist)
        for contract in contracts:
            if contract.name in self._exclude_nodes:
                _log.info(
                    "node left out", node=contract.name, reason=self._exclude_nodes[contract.name]
                )
        return [c for c in contracts if c.name not in self._exclude_nodes]

    # -- health -------------------------------------------------------------------------------

    async def readiness(self) -> ModelReadinessReport:
        """Run every ping (bus and handlers) concurrently; ready when all pass and started."""
        pinged = await asyncio.gather(self._bus_check(), *(_ping(h) for h in self.handlers))
        # A handler may put a driver's message (a DSN, a token) in its detail: the report is
        # served over HTTP, so every detail is sanitised here, whoever built it.
        results = [_sanitised(result) for result in pinged]
        ready = self._started and not self._stopping and all(r.healthy for r in results)
        status = "stopping" if self._stopping else ("ready" if ready else "not ready")
        return ModelReadinessReport(ready=ready, status=status, checks=tuple(results))

    async def _bus_check(self) -> ModelHealthCheckResult:
        started = time.perf_counter()
        try:
            health = await self.bus.health_check()
        except Exception as exc:
            return ModelHealthCheckResult.failed("event_bus", exc)
        return ModelHealthCheckResult(
            name="event_bus",
            healthy=bool(health.get("healthy")),
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=health.get("error"),
        )

    # -- stop ---------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask ``serve`` to shut down (SIGTERM/SIGINT); asked again while draining, stop at once."""
        if self._stop_requested.is_set():
            self._abort_requested.set()
        self._stop_requested.set()

    async def serve(self) -> int:
        """Start, run until SIGTERM/SIGINT, stop gracefully; returns the exit code.

        0 when everything accepted was handled; 1 when the grace period ran out or a second
        signal cut the drain short (the log says how many messages were pending).
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            frozen = freeze_boot_heap()
            _log.debug("boot heap frozen", objects=frozen)
            await self._stop_requested.wait()
            drained = await self.stop()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return 0 if drained else 1

    async def stop(self) -> bool:
        """Drain and stop within the grace period; True when nothing accepted was left.

        The components (the runtime's own producers, such as the ticker) stop first, so no new
        work starts; then what the bus accepted is handled, the consumer groups are left
        (offsets committed) and everything is closed. ``request_stop`` during the drain, or
        the grace period running out, cuts it short.
        """
        if self._stopping:
            return True
        self._stopping = True
        grace = self.config.shutdown_grace_seconds
        _log.info("runtime stopping", grace_seconds=grace, pending=await self._pending())
        reason = await self._drain(grace)
        drained = reason is None
        if not drained:
            _log.error(
                "stopped before draining",
                reason=reason,
                grace_seconds=grace,
                pending=await self._pending(),
            )
        await self._teardown(step_timeout=None if drained else _FORCED_STEP_SECONDS)
        _log.info("runtime stopped", drained=drained)
        return drained

    async def _drain(self, grace: float) -> str | None:
        """Handle everything accepted; returns None, or why the drain was cut short."""

        async def drain() -> None:
            for component in reversed(self.components):
                await self._quietly(component.stop)
            if isinstance(self.bus, EventBusInmemory):
                # In-memory messages exist nowhere else: process all accepted ones first.
                await self.bus.wait_idle()
            await self.engine.stop()

        draining = asyncio.create_task(drain(), name="runtime-drain")
        aborted = asyncio.create_task(self._abort_requested.wait(), name="runtime-abort")
        try:
            done, _ = await asyncio.wait(
                (draining, aborted), timeout=grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (draining, aborted):
                task.cancel()
            await asyncio.gather(draining, aborted, return_exceptions=True)
        if draining in done and draining.exception() is None:
            return None
        if draining in done:
            _log.error("drain failed", error=str(draining.exception()))
            return "drain failed"
        return "second stop signal" if aborted in done else "grace period over"

    async def _pending(self) -> int:
        """Messages accepted by the bus and not yet handled (in flight included)."""
        try:
            return int((await self.bus.health_check()).get("pending_messages", 0) or 0)
        except Exception:  # a broken bus must not stop the stop
            return -1

    async def _quietly(self, step: Callable[[], Awaitable[None]]) -> None:
        try:
            await step()
        except Exception as exc:
            _log.warning("error while stopping", step=repr(step), error=str(exc))

    async def _teardown(self, step_timeout: float | None = None) -> None:
        """Stop whatever started, in reverse order, never raising.

        With ``step_timeout`` (a forced stop), a step stuck behind a handler that never returns
        is abandoned after that long, so the process still exits.
        """
        retry_consumers, self._retry_consumers = self._retry_consumers, []
        for step in (
            *(consumer.stop for consumer in retry_consumers),
            *(component.stop for component in reversed(self.components)),
            self.engine.stop,
            self.bus.close,
            *(handler.close for handler in reversed(self.handlers)),
        ):
            try:
                async with asyncio.timeout(step_timeout):
                    await step()
            except TimeoutError:
                _log.warning("abandoned a stop step", step=repr(step), seconds=step_timeout)
            except Exception as exc:
                _log.warning("error while stopping", step=repr(step), error=str(exc))
        if self._http is not None:
            await self._http.stop()
            self._http = None
        self._started = False
