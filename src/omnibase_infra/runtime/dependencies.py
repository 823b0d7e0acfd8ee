"""The dependencies a runtime owns: which came up, reconnecting those down at start, their pings.

With ``startup: degraded`` (the default) a handler whose ``start`` fails because its dependency
is unreachable (refused, timed out, unavailable) does not stop the start: it is left pending,
``/ready`` answers 503 naming it, and components whose start needs it wait with it. Until every
pending dependency and component is up the dispatch engine holds its deliveries (nothing is
handled against a database that has not been migrated). ``recover()`` tries each pending one
again, in order; the runtime's health monitor calls it on its schedule (one mechanism for the
reconnect at start and the health seen later), and the host calls it itself when no monitor
drives it. ``startup: fail_fast`` keeps the old behaviour: the first failure stops the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from omnibase_infra.errors import (
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    is_dependency_unavailable,
)
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.http.health_checks import handler_check
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost
from omnibase_infra.runtime.plugins.protocol_runtime_component import ProtocolRuntimeComponent
from omnibase_infra.sanitize import sanitize_text

__all__ = ["RuntimeDependencies"]

_log = get_logger(__name__)
_DETAIL_LIMIT = 300

# A provider of extra readiness checks (the health monitor's breaker states).
CheckProvider = Callable[[], Sequence[ModelHealthCheckResult]]


class RuntimeDependencies:
    """The host's handlers and components as dependencies (see module docstring)."""

    def __init__(
        self,
        handlers: Sequence[ProtocolInfraHandler],
        *,
        fail_fast: bool,
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        self._handlers = list(handlers)
        self._fail_fast = fail_fast
        self._on_recovered = on_recovered
        self._pending: dict[str, ProtocolInfraHandler] = {}
        self._errors: dict[str, str] = {}
        self._components: list[ProtocolRuntimeComponent] = []
        self._host: ProtocolComponentHost | None = None
        self._lock = asyncio.Lock()
        self._providers: list[CheckProvider] = []
        self.driven = False

    @property
    def handlers(self) -> tuple[ProtocolInfraHandler, ...]:
        """Every handler the runtime owns, started or pending."""
        return tuple(self._handlers)

    @property
    def pending(self) -> tuple[str, ...]:
        """What still waits for its dependency: handler names, then ``component <name>``."""
        return (
            *self._pending,
            *(f"component {component.name}" for component in self._components),
        )

    def is_pending(self, handler: ProtocolInfraHandler) -> bool:
        """Whether ``handler`` was down at start and has not connected since."""
        return self._pending.get(handler.handler_name) is handler

    def on_recovered(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once nothing is pending any more (the host releases the engine)."""
        self._on_recovered = callback

    def add_checks(self, provider: CheckProvider) -> None:
        """Add readiness checks computed by ``provider`` (the health monitor's view)."""
        self._providers.append(provider)

    # -- start ----------------------------------------------------------------------------

    async def start_handlers(self) -> None:
        """Start every handler; one whose dependency is down is left pending (degraded)."""
        for handler in self._handlers:
            try:
                await handler.start()
            except Exception as exc:
                if self._fail_fast or not is_dependency_unavailable(exc):
                    raise
                self._defer(handler, exc)

    async def start_components(
        self, components: Sequence[ProtocolRuntimeComponent], host: ProtocolComponentHost
    ) -> None:
        """Start each component; while a dependency is pending, one whose start needs it waits
        (the others start: the health monitor among them)."""
        self._host = host
        for component in components:
            try:
                await component.start(host)
            except Exception as exc:
                if self._fail_fast or not self._pending or not _needs_a_dependency(exc):
                    raise
                _log.warning(
                    "component waits for a dependency",
                    component=component.name,
                    waiting_for=list(self._pending),
                )
                self._components.append(component)

    def _defer(self, handler: ProtocolInfraHandler, exc: BaseException) -> None:
        detail = _describe(exc)
        self._pending[handler.handler_name] = handler
        self._errors[handler.handler_name] = detail
        _log.warning(
            "dependency down at start, reconnecting",
            dependency=handler.handler_name,
            error=detail,
        )

    # -- recovery -------------------------------------------------------------------------

    async def recover(self, names: Sequence[str] | None = None) -> tuple[str, ...]:
        """Try the pending handlers again (only ``names`` when given), then the waiting
        components once no handler is pending; returns the dependencies that came up."""
        async with self._lock:
            waited = bool(self.pending)
            up: list[str] = []
            for name, handler in list(self._pending.items()):
                if names is not None and name not in names:
                    continue
                try:
                    await handler.start()
                except Exception as exc:
                    self._errors[name] = _describe(exc)
                    continue
                del self._pending[name]
                self._errors.pop(name, None)
                up.append(name)
                _log.info("dependency connected", dependency=name)
            if not self._pending:
                await self._start_waiting_components()
            if waited and not self.pending:
                _log.info("every dependency down at start is up")
                if self._on_recovered is not None:
                    self._on_recovered()
            return tuple(up)

    async def _start_waiting_components(self) -> None:
        host = self._host
        while self._components and host is not None:
            component = self._components[0]
            try:
                await component.start(host)
            except Exception as exc:
                _log.warning(
                    "waiting component not started yet", component=component.name, error=str(exc)
                )
                return
            self._components.pop(0)
            _log.info("component started after its dependency", component=component.name)

    async def run(self, interval_seconds: float, stop: asyncio.Event) -> None:
        """Recover every ``interval_seconds`` until nothing is pending or ``stop`` is set
        (the host's own loop, when no health monitor drives recovery)."""
        while self.pending and not stop.is_set():
            try:
                async with asyncio.timeout(interval_seconds):
                    await stop.wait()
            except TimeoutError:
                await self.recover()

    # -- health ---------------------------------------------------------------------------

    async def ping(self, handler: ProtocolInfraHandler) -> ModelHealthCheckResult:
        """The handler's ping; a pending one's check says it was down at start and why."""
        if self.is_pending(handler):
            name = handler.handler_name
            return ModelHealthCheckResult(
                name=name,
                healthy=False,
                detail=f"down at start, reconnecting: {self._errors.get(name, 'unreachable')}",
            )
        return await handler_check(handler)

    async def checks(self) -> tuple[ModelHealthCheckResult, ...]:
        """Every handler's check, the waiting components' and the providers' (``/ready``)."""
        pinged = await asyncio.gather(*(self.ping(handler) for handler in self._handlers))
        waiting = tuple(
            ModelHealthCheckResult(
                name=component.name,
                healthy=False,
                detail=f"waits for {', '.join(self._pending) or 'its dependency'}",
            )
            for component in self._components
        )
        extra = tuple(check for provider in self._providers for check in provider())
        return (*pinged, *waiting, *extra)


def _needs_a_dependency(exc: BaseException) -> bool:
    """Whether a component's start failed on a dependency (a pending handler says it is not
    started with a non-retriable ``InfraUnavailableError``: retrying it alone cannot help)."""
    infra = InfraConnectionError | InfraTimeoutError | InfraUnavailableError
    return isinstance(exc, infra) or is_dependency_unavailable(exc)


def _describe(exc: BaseException) -> str:
    return sanitize_text(f"{type(exc).__name__}: {exc}")[:_DETAIL_LIMIT]
