"""The health monitor's schedule: probe, ask the breaker, reconnect, announce changes.

One round, every ``interval_seconds``, for each dependency (every handler the runtime owns, and
the bus) concurrently: the breaker compute node is asked whether a probe may go (REQUEST); an
admitted probe pings the dependency, or, for one down at start, reconnects it first
(``RuntimeDependencies.recover``: the same mechanism the host's degraded start waits on); the
outcome is fed back (SUCCESS/FAILURE) and the node's decision is the new breaker state. A
change of health or breaker state is published on ``TOPIC_DEPENDENCY_HEALTH_CHANGED``; a round
that changes nothing publishes nothing. ``/ready`` gets one check, ``health_monitor``, naming
each breaker's state and failing when the rounds stop coming. The breakers pace the probes;
they do not gate readiness: each dependency's own check, pinged on every ``/ready``, does, so a
runtime is ready again as soon as its dependency answers, not ``open_seconds`` later.

The monitor's breakers are shown on ``onex_circuit_breaker_state`` (label: the dependency) like
every other breaker. The breakers of the EFFECT nodes' executors (their contracts'
``error_handling.circuit_breaker``, registered in the runtime's ``CircuitBreakerRegistry``) are
read every round too: a change of one's state is published as a health-changed event naming
the effect, and ``/ready``'s detail lists them. They gate nothing either: an open effect
breaker already refuses that effect's calls.

Why not a workflow step over the bus: the workflow's COMPUTE steps run per message, in one
consumer group shared by every runtime of a service, so a probe of one runtime's dependency
would be decided by whichever runtime received it. The monitor calls the breaker node's
computation in-process instead, per runtime, with the state it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from omnibase_infra._core import (
    EnumCircuitBreakerState,
    ModelCircuitBreakerSubcontract,
    ModelSemVer,
)
from omnibase_infra.event_bus.codec import new_envelope
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.nodes.node_circuit_breaker_compute import (
    EnumCircuitBreakerEventKind,
    ModelCircuitBreakerComputeInput,
    ModelCircuitBreakerDecision,
    ModelCircuitBreakerEvent,
    ModelCircuitBreakerState,
    circuit_breaker_transition,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_dependency_health_changed import (  # noqa: E501
    TOPIC_DEPENDENCY_HEALTH_CHANGED,
    ModelDependencyHealthChanged,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_dependency_probe import (  # noqa: E501
    ModelDependencyProbe,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_health_monitor_settings import (  # noqa: E501
    ModelHealthMonitorSettings,
)
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.breaker.mixin import export_breaker_state
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry
from omnibase_infra.runtime.dependencies import RuntimeDependencies
from omnibase_infra.runtime.http.health_checks import bus_check
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["NODE_NAME", "HealthMonitorComponent"]

NODE_NAME = "node_infrastructure_health_monitor_orchestrator"
_CLOSED = EnumCircuitBreakerState.CLOSED
EVENT_BUS = "event_bus"
# A round slower than this (and than three intervals) means the monitor is stuck.
_STALL_SECONDS = 30.0
_CHECK_NAME = "health_monitor"

_log = get_logger(__name__)

Probe = Callable[[], Awaitable[ModelHealthCheckResult]]


@dataclass
class _Watched:
    """What the monitor carries for one dependency between rounds."""

    healthy: bool | None = None
    breaker: ModelCircuitBreakerState = field(default_factory=ModelCircuitBreakerState)


class HealthMonitorComponent:
    """Runs the monitor's rounds with the host (a runtime component; see module docstring)."""

    def __init__(
        self,
        settings: ModelHealthMonitorSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        breakers: CircuitBreakerRegistry | None = None,
    ) -> None:
        """``clock``: the breaker's time (monotonic seconds; tests pass a manual one);
        ``breakers``: the effect breakers to watch (default: the runtime's, at start)."""
        self._settings = settings
        self._clock = clock
        self._breaker = ModelCircuitBreakerSubcontract(
            version=ModelSemVer(major=1, minor=0, patch=0),
            failure_threshold=settings.failure_threshold,
            success_threshold=settings.success_threshold,
            half_open_max_calls=settings.success_threshold,
            timeout_seconds=settings.open_seconds,
        )
        self._watched: dict[str, _Watched] = {}
        self._effects: dict[str, EnumCircuitBreakerState] = {}  # effect breakers last seen
        self._registry = breakers
        self._task: asyncio.Task[None] | None = None
        self._since: float | None = None  # the start, then the end of the last round

    @property
    def name(self) -> str:
        """``health_monitor``."""
        return _CHECK_NAME

    async def start(self, host: ProtocolComponentHost) -> None:
        """Take over reconnecting, add the breaker check to ``/ready``, start the rounds."""
        dependencies = host.container.get_service(RuntimeDependencies)
        dependencies.driven = True
        if self._registry is None:
            registry = host.container.get_service_optional(CircuitBreakerRegistry)
            self._registry = registry if isinstance(registry, CircuitBreakerRegistry) else None
        self._since = self._clock()
        dependencies.add_checks(self.checks)
        self._task = asyncio.create_task(self._run(host, dependencies), name="health-monitor")

    async def stop(self) -> None:
        """Stop the rounds."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def checks(self) -> tuple[ModelHealthCheckResult, ...]:
        """``health_monitor``: each breaker's state; unhealthy when the monitor has stalled
        (no round completed for three intervals, and at least 30 s)."""
        if self._since is None:
            return ()
        states = {name: watched.breaker.state for name, watched in sorted(self._watched.items())}
        detail = "breakers: " + ", ".join(f"{name} {s.value}" for name, s in states.items())
        if self._effects:
            effects = ", ".join(f"{name} {s.value}" for name, s in sorted(self._effects.items()))
            detail += f"; effect breakers: {effects}"
        quiet = self._clock() - self._since
        if quiet > max(3 * self._settings.interval_seconds, _STALL_SECONDS):
            stalled = f"no round completed for {quiet:.0f} s; {detail}"
            return (ModelHealthCheckResult(name=_CHECK_NAME, healthy=False, detail=stalled),)
        return (ModelHealthCheckResult(name=_CHECK_NAME, healthy=True, detail=detail),)

    async def _run(self, host: ProtocolComponentHost, dependencies: RuntimeDependencies) -> None:
        while True:
            try:
                await self.round(host, dependencies)
            except Exception as exc:  # a round that breaks must not end the monitor
                _log.warning("health monitor round failed", error=str(exc))
            await asyncio.sleep(self._settings.interval_seconds)

    async def round(self, host: ProtocolComponentHost, dependencies: RuntimeDependencies) -> None:
        """One round: every dependency probed (as its breaker allows), changes published."""
        probes: dict[str, Probe] = {EVENT_BUS: lambda: bus_check(host.bus)}
        for handler in dependencies.handlers:
            probes[handler.handler_name] = _probe(dependencies, handler)
        outcomes = await asyncio.gather(
            *(self._observe(name, probe) for name, probe in probes.items())
        )
        if dependencies.pending:  # components still waiting once their handlers are back
            await dependencies.recover(())
        for event in [*outcomes, *self.effect_changes()]:
            if event is not None:
                await _publish(host, event)
        self._since = self._clock()

    async def _observe(self, name: str, probe: Probe) -> ModelDependencyHealthChanged | None:
        watched = self._watched.setdefault(name, _Watched())
        before = watched.breaker.state
        asked = self._decide(watched, EnumCircuitBreakerEventKind.REQUEST)
        if not asked.allowed:
            seen = ModelDependencyProbe(
                dependency=name,
                healthy=False,
                probed=False,
                detail=f"breaker open, next probe in {asked.retry_after_seconds or 0:.1f} s",
            )
        else:
            check = await probe()
            seen = ModelDependencyProbe(
                dependency=name,
                healthy=check.healthy,
                latency_ms=check.latency_ms,
                detail=check.detail,
            )
            outcome = (
                EnumCircuitBreakerEventKind.SUCCESS
                if check.healthy
                else EnumCircuitBreakerEventKind.FAILURE
            )
            self._decide(watched, outcome)
        if watched.healthy is None or watched.breaker.state is not before:
            export_breaker_state(name, watched.breaker.state)
        return self._change(watched, seen, before=before)

    def effect_changes(self) -> list[ModelDependencyHealthChanged]:
        """An event for each effect breaker whose state changed since the last round (a breaker
        seen for the first time: only when it is not closed)."""
        if self._registry is None:
            return []
        events: list[ModelDependencyHealthChanged] = []
        for name, (owner, snapshot) in self._registry.snapshots().items():
            before = self._effects.get(name)
            self._effects[name] = snapshot.state
            if snapshot.state is before or (before is None and snapshot.state is _CLOSED):
                continue
            events.append(_effect_event(owner, snapshot, before))
        return events

    def _decide(
        self, watched: _Watched, kind: EnumCircuitBreakerEventKind
    ) -> ModelCircuitBreakerDecision:
        """The breaker node's decision for one event; the new state is kept."""
        decision = circuit_breaker_transition(
            ModelCircuitBreakerComputeInput(
                config=self._breaker,
                state=watched.breaker,
                event=ModelCircuitBreakerEvent(kind=kind, at=self._clock()),
            )
        )
        watched.breaker = decision.state
        return decision

    def _change(
        self, watched: _Watched, seen: ModelDependencyProbe, *, before: EnumCircuitBreakerState
    ) -> ModelDependencyHealthChanged | None:
        """The event for what changed since the last round, if anything did."""
        previous = watched.healthy
        watched.healthy = seen.healthy
        breaker = watched.breaker.state
        first = previous is None
        if (first and seen.healthy) or (previous == seen.healthy and breaker is before):
            return None
        _log.info(
            "dependency health changed",
            dependency=seen.dependency,
            healthy=seen.healthy,
            breaker_state=breaker.value,
            detail=seen.detail,
        )
        return ModelDependencyHealthChanged(
            dependency=seen.dependency,
            healthy=seen.healthy,
            previous_healthy=previous,
            breaker_state=breaker,
            previous_breaker_state=None if first else before,
            observed_at=datetime.now(UTC),
            detail=seen.detail,
        )


def _effect_event(
    owner: str, snapshot: ModelCircuitBreakerSnapshot, before: EnumCircuitBreakerState | None
) -> ModelDependencyHealthChanged:
    """The health-changed event of an effect breaker that went from ``before`` to its state."""
    state = snapshot.state
    detail = f"{snapshot.consecutive_failures} failures in a row"
    if snapshot.retry_after_seconds is not None:
        detail += f", next call admitted in {snapshot.retry_after_seconds:.1f} s"
    _log.info(
        "effect breaker changed", effect=owner, dependency=snapshot.service_name, state=state.value
    )
    return ModelDependencyHealthChanged(
        dependency=snapshot.service_name,
        healthy=state is _CLOSED,
        previous_healthy=None if before is None else before is _CLOSED,
        breaker_state=state,
        previous_breaker_state=before,
        observed_at=datetime.now(UTC),
        detail=None if state is _CLOSED else detail,
        effect=owner,
    )


def _probe(dependencies: RuntimeDependencies, handler: ProtocolInfraHandler) -> Probe:
    """Reconnect first when ``handler`` was down at start, then ping."""

    async def probe() -> ModelHealthCheckResult:
        if dependencies.is_pending(handler):
            await dependencies.recover((handler.handler_name,))
        return await dependencies.ping(handler)

    return probe


async def _publish(host: ProtocolComponentHost, event: ModelDependencyHealthChanged) -> None:
    envelope = new_envelope(event, correlation_id=None, producer=NODE_NAME)
    try:
        await host.bus.publish_envelope(
            envelope, TOPIC_DEPENDENCY_HEALTH_CHANGED, event.dependency.encode()
        )
    except Exception as exc:  # the bus itself may be the dependency that is down
        _log.warning("health change not published", dependency=event.dependency, error=str(exc))
