"""The health monitor's rounds: breaker decisions by the breaker compute node, probes only as
the breaker admits them, a health-changed event on the bus per change, and the reconnect of a
dependency down at start."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import generate_latest

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError
from omnibase_infra.event_bus.codec import decode_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator import (
    ModelDependencyHealthChanged,
    ModelHealthMonitorSettings,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_dependency_health_changed import (  # noqa: E501
    TOPIC_DEPENDENCY_HEALTH_CHANGED,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.monitor import (
    HealthMonitorComponent,
)
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry
from omnibase_infra.runtime.dependencies import RuntimeDependencies
from omnibase_infra.testing import ManualClock, eventually


class SwitchHandler:
    """A dependency that is up or down as the test says; counts pings and starts."""

    def __init__(self, name: str, *, up: bool = True, started: bool = True) -> None:
        self.name = name
        self.up = up
        self.started = started
        self.pings = 0

    @property
    def handler_name(self) -> str:
        return self.name

    @property
    def transport_type(self) -> EnumInfraTransportType:
        return EnumInfraTransportType.VALKEY

    async def start(self) -> None:
        if not self.up:
            raise InfraConnectionError("connection refused")
        self.started = True

    async def ping(self) -> ModelHealthCheckResult:
        self.pings += 1
        healthy = self.up and self.started
        return ModelHealthCheckResult(
            name=self.name, healthy=healthy, detail=None if healthy else "refused"
        )

    async def close(self) -> None:
        self.started = False


@dataclass
class Host:
    """What a round uses of the host: its bus."""

    bus: EventBusInmemory


async def _monitor(
    handler: SwitchHandler, clock: ManualClock, breakers: CircuitBreakerRegistry | None = None
) -> tuple[HealthMonitorComponent, RuntimeDependencies, Host, list[ModelDependencyHealthChanged]]:
    bus = EventBusInmemory()
    await bus.start()
    seen: list[ModelDependencyHealthChanged] = []

    async def record(message: BusMessage) -> None:
        payload = decode_envelope(message.value).payload
        seen.append(ModelDependencyHealthChanged.model_validate(payload))

    await bus.subscribe(
        TOPIC_DEPENDENCY_HEALTH_CHANGED, on_message=record, purpose="test", group_id="health-test"
    )
    settings = ModelHealthMonitorSettings(failure_threshold=1, open_seconds=10)
    dependencies = RuntimeDependencies([handler], fail_fast=False)
    monitor = HealthMonitorComponent(settings, clock=clock, breakers=breakers)
    return monitor, dependencies, Host(bus), seen


async def test_a_stop_and_a_return_each_publish_one_event_and_the_breaker_paces_probes() -> None:
    """Down: one unhealthy event and the breaker opens (no probe while open); after the
    breaker's wait, the next probe finds it back: one healthy event, breaker closed."""
    clock = ManualClock()
    valkey = SwitchHandler("valkey")
    monitor, dependencies, host, seen = await _monitor(valkey, clock)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    assert seen == []  # a healthy first look changes nothing
    valkey.up = False
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len([e for e in seen if e.dependency == "valkey"]) == 1)
    (down,) = seen
    assert (down.healthy, down.previous_healthy, down.breaker_state.value) == (False, True, "open")
    (check,) = monitor.checks()
    assert check.healthy is True  # the breaker paces probes; valkey's own check gates /ready
    assert "valkey open" in str(check.detail)
    pings = valkey.pings
    valkey.up = True
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    assert valkey.pings == pings  # the open breaker refused the probe
    clock.advance(10.0)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len([e for e in seen if e.dependency == "valkey"]) == 2)
    back = seen[1]
    assert (back.healthy, back.previous_healthy, back.breaker_state.value) == (
        True,
        False,
        "closed",
    )
    assert monitor.checks()[0].healthy is True


async def test_a_dependency_down_at_start_is_reconnected_by_the_monitor() -> None:
    """A handler pending since the start is started again by a round once it is up, and the
    monitor announces it healthy."""
    clock = ManualClock()
    postgres = SwitchHandler("postgres", up=False, started=False)
    monitor, dependencies, host, seen = await _monitor(postgres, clock)
    await dependencies.start_handlers()
    assert dependencies.pending == ("postgres",)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len(seen) == 1)
    assert seen[0].healthy is False
    assert str(seen[0].detail).startswith("down at start")
    postgres.up = True
    clock.advance(10.0)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len(seen) == 2)
    assert dependencies.pending == ()
    assert postgres.started
    assert seen[1].healthy is True


async def test_a_stalled_monitor_fails_its_ready_check() -> None:
    """No round completed for three intervals (at least 30 s): `health_monitor` is unhealthy."""
    clock = ManualClock()
    monitor, dependencies, host, _ = await _monitor(SwitchHandler("valkey"), clock)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    assert monitor.checks()[0].healthy is True
    clock.advance(31.0)
    (check,) = monitor.checks()
    assert check.healthy is False
    assert "no round completed for 31 s" in str(check.detail)


async def test_an_effect_breaker_opening_and_closing_is_announced_and_exported() -> None:
    """An effect executor's breaker registered with the runtime: its opening is published as a
    health-changed event naming the effect and listed by /ready's check, its closing again; the
    monitor's own breakers are on onex_circuit_breaker_state beside it."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker(
        "node_unit_monitor_effect",
        EnumInfraTransportType.HTTP,
        threshold=1,
        node="node_unit_monitor_effect",
        clock=clock,
    )
    breakers = CircuitBreakerRegistry()
    breakers.register("node_unit_monitor_effect", breaker)
    valkey = SwitchHandler("valkey_unit_monitor")
    monitor, dependencies, host, seen = await _monitor(valkey, clock, breakers)
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    assert seen == []  # a closed breaker seen first changes nothing
    breaker.on_failure()
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len(seen) == 1)
    (opened,) = seen
    assert (opened.effect, opened.dependency, opened.healthy) == (
        "node_unit_monitor_effect",
        "node_unit_monitor_effect",
        False,
    )
    assert opened.breaker_state.value == "open"
    assert opened.previous_breaker_state is not None
    assert (opened.previous_breaker_state.value, opened.previous_healthy) == ("closed", True)
    assert "effect breakers: node_unit_monitor_effect open" in str(monitor.checks()[0].detail)
    metrics = generate_latest(REGISTRY).decode()
    effect = 'dependency="node_unit_monitor_effect",node="node_unit_monitor_effect"'
    assert f"onex_circuit_breaker_state{{{effect}}} 2.0" in metrics
    assert 'onex_circuit_breaker_state{dependency="valkey_unit_monitor",node=""} 0.0' in metrics
    clock.advance(breaker.reset_timeout)
    breaker.admit()  # the half-open probe
    breaker.on_success()
    await monitor.round(host, dependencies)  # type: ignore[arg-type]
    await eventually(lambda: len(seen) == 2)
    closed = seen[1]
    assert (closed.effect, closed.healthy, closed.breaker_state.value) == (
        "node_unit_monitor_effect",
        True,
        "closed",
    )
    assert closed.previous_breaker_state is not None
    assert closed.previous_breaker_state.value == "open"
