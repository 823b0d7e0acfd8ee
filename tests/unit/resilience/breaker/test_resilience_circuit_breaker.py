"""Circuit breaker: the documented mixin API, its states, thresholds, monitoring and metrics."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from omnibase_infra._core import EnumCircuitBreakerState, ModelCircuitBreakerSubcontract
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
)
from omnibase_infra.observability.metrics import render_metrics
from omnibase_infra.resilience import AsyncCircuitBreaker, MixinAsyncCircuitBreaker
from omnibase_infra.testing import ManualClock

CLOSED = EnumCircuitBreakerState.CLOSED
OPEN = EnumCircuitBreakerState.OPEN
HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN


class _Adapter(MixinAsyncCircuitBreaker):
    """An adapter written exactly as the platform's coding rules show."""

    def __init__(self, clock: ManualClock, **options: int) -> None:
        self.transitions: list[tuple[EnumCircuitBreakerState, EnumCircuitBreakerState]] = []
        self._init_circuit_breaker(
            threshold=3,
            reset_timeout=30.0,
            service_name=f"adapter-{uuid4().hex[:8]}",
            transport_type=EnumInfraTransportType.HTTP,
            clock=clock,
            on_transition=lambda old, new, _at: self.transitions.append((old, new)),
            **options,
        )
        self.calls = 0
        self.fail = False

    async def connect(self) -> None:
        correlation_id = uuid4()
        async with self._circuit_breaker_lock:
            await self._check_circuit_breaker("connect", correlation_id)
        try:
            self.calls += 1
            if self.fail:
                raise InfraConnectionError("refused")
            async with self._circuit_breaker_lock:
                await self._reset_circuit_breaker()
        except Exception:
            async with self._circuit_breaker_lock:
                await self._record_circuit_failure("connect", correlation_id)
            raise


async def _fail_times(adapter: _Adapter, n: int) -> None:
    adapter.fail = True
    for _ in range(n):
        with pytest.raises(InfraConnectionError):
            await adapter.connect()


async def test_threshold_consecutive_failures_open_the_circuit() -> None:
    """The threshold-th consecutive failure opens the circuit; the one before does not."""
    adapter = _Adapter(ManualClock())
    await _fail_times(adapter, 2)
    assert adapter._circuit_breaker_state is CLOSED
    assert adapter._circuit_breaker_failures == 2
    await _fail_times(adapter, 1)
    assert adapter._circuit_breaker_state is OPEN
    assert adapter._circuit_breaker_open is True
    assert adapter.transitions == [(CLOSED, OPEN)]


async def test_success_resets_the_consecutive_failure_count() -> None:
    """A success between failures restarts the count, so scattered failures never open it."""
    adapter = _Adapter(ManualClock())
    for _ in range(5):
        await _fail_times(adapter, 2)
        adapter.fail = False
        await adapter.connect()
    assert adapter._circuit_breaker_state is CLOSED
    assert adapter._circuit_breaker_failures == 0


async def test_open_circuit_rejects_without_calling_and_says_when_to_retry() -> None:
    """While open, calls are refused with InfraUnavailableError and retry_after_seconds."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    await _fail_times(adapter, 3)
    calls = adapter.calls
    clock.advance(10.0)
    with pytest.raises(InfraUnavailableError) as caught:
        await adapter.connect()
    assert adapter.calls == calls
    assert caught.value.retry_after_seconds == pytest.approx(20.0)
    assert caught.value.retriable is True
    assert caught.value.infra_context.operation == "connect"
    assert caught.value.infra_context.target_name == adapter._cb_service_name
    assert adapter._circuit_breaker_open_until == pytest.approx(clock.now + 20.0)


async def test_after_reset_timeout_a_probe_passes_and_success_closes() -> None:
    """Once reset_timeout has passed the next call is a HALF_OPEN probe; its success closes."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    await _fail_times(adapter, 3)
    clock.advance(29.999)
    with pytest.raises(InfraUnavailableError):
        await adapter.connect()
    clock.advance(0.001)
    adapter.fail = False
    await adapter.connect()
    assert adapter._circuit_breaker_state is CLOSED
    assert adapter.transitions == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


async def test_failed_probe_reopens_for_a_full_reset_timeout() -> None:
    """A failure in HALF_OPEN opens the circuit again, timed from that failure."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    await _fail_times(adapter, 3)
    clock.advance(30.0)
    await _fail_times(adapter, 1)
    assert adapter._circuit_breaker_state is OPEN
    assert adapter._circuit_breaker_open_until == pytest.approx(clock.now + 30.0)
    assert adapter.transitions[-2:] == [(OPEN, HALF_OPEN), (HALF_OPEN, OPEN)]


async def test_half_open_success_threshold_needs_that_many_successes() -> None:
    """With success_threshold=3, two successful probes leave it HALF_OPEN; the third closes."""
    clock = ManualClock()
    adapter = _Adapter(clock, success_threshold=3)
    await _fail_times(adapter, 3)
    clock.advance(30.0)
    adapter.fail = False
    await adapter.connect()
    await adapter.connect()
    assert adapter._circuit_breaker_state is HALF_OPEN
    await adapter.connect()
    assert adapter._circuit_breaker_state is CLOSED


async def test_half_open_admits_at_most_half_open_max_calls_concurrent_probes() -> None:
    """In HALF_OPEN only half_open_max_calls probes are in flight; others are rejected."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker(
        "probe-limit",
        EnumInfraTransportType.HTTP,
        threshold=1,
        reset_timeout=10.0,
        success_threshold=2,
        half_open_max_calls=2,
        clock=clock,
    )

    async def fail() -> None:
        raise InfraConnectionError("down")

    with pytest.raises(InfraConnectionError):
        await breaker.call(fail)
    clock.advance(10.0)
    gate = asyncio.Event()
    entered = 0

    async def probe() -> str:
        nonlocal entered
        entered += 1
        await gate.wait()
        return "ok"

    tasks = [asyncio.create_task(breaker.call(probe)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert entered == 2
    assert outcomes.count("ok") == 2
    assert sum(isinstance(o, InfraUnavailableError) for o in outcomes) == 3
    assert breaker.state is CLOSED


async def test_abandoned_probe_permits_are_reissued_after_reset_timeout() -> None:
    """A probe that never reports back does not wedge HALF_OPEN forever."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    await _fail_times(adapter, 3)
    clock.advance(30.0)
    async with adapter._circuit_breaker_lock:
        await adapter._check_circuit_breaker("lost", None)  # a caller that never reports
    with pytest.raises(InfraUnavailableError):
        await adapter.connect()
    clock.advance(30.0)
    adapter.fail = False
    await adapter.connect()
    assert adapter._circuit_breaker_state is CLOSED


async def test_documented_methods_require_the_lock() -> None:
    """Calling a breaker method without holding _circuit_breaker_lock is refused loudly."""
    adapter = _Adapter(ManualClock())
    with pytest.raises(RuntimeError, match="_circuit_breaker_lock"):
        await adapter._check_circuit_breaker("connect", None)
    with pytest.raises(RuntimeError, match="_circuit_breaker_lock"):
        await adapter._record_circuit_failure("connect", None)
    with pytest.raises(RuntimeError, match="_circuit_breaker_lock"):
        await adapter._reset_circuit_breaker()


def test_invalid_configuration_is_a_typed_error() -> None:
    """Nonsensical thresholds raise ProtocolConfigurationError, not a breaker that never opens."""
    with pytest.raises(ProtocolConfigurationError):
        AsyncCircuitBreaker("x", EnumInfraTransportType.HTTP, threshold=0)
    with pytest.raises(ProtocolConfigurationError):
        AsyncCircuitBreaker("x", EnumInfraTransportType.HTTP, reset_timeout=0)
    with pytest.raises(ProtocolConfigurationError, match="half_open_max_calls"):
        AsyncCircuitBreaker(
            "x", EnumInfraTransportType.HTTP, success_threshold=3, half_open_max_calls=2
        )


async def test_snapshot_reports_state_for_monitoring() -> None:
    """The snapshot carries state, failures, thresholds and the remaining open time."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    await _fail_times(adapter, 3)
    clock.advance(5.0)
    snapshot = adapter._circuit_breaker_snapshot()
    assert snapshot.state is OPEN
    assert snapshot.consecutive_failures == 3
    assert snapshot.failure_threshold == 3
    assert snapshot.retry_after_seconds == pytest.approx(25.0)
    assert snapshot.model_dump(mode="json")["state"] == "open"


async def test_state_transitions_and_rejections_are_exported_as_metrics() -> None:
    """The state gauge, transition and rejection counters appear on the metrics registry."""
    clock = ManualClock()
    adapter = _Adapter(clock)
    service = adapter._cb_service_name
    await _fail_times(adapter, 3)
    with pytest.raises(InfraUnavailableError):
        await adapter.connect()
    text = render_metrics().decode()
    labels = f'dependency="{service}",node=""'
    assert f"onex_circuit_breaker_state{{{labels}}} 2.0" in text
    assert f'onex_circuit_breaker_transitions_total{{{labels},state="open"}} 1.0' in text
    assert f"onex_circuit_breaker_rejected_calls_total{{{labels}}} 1.0" in text
    assert f"onex_circuit_breaker_recorded_failures_total{{{labels}}} 3.0" in text


async def test_call_counts_only_dependency_failures() -> None:
    """Client errors and bugs neither open the circuit nor reset the failure count."""
    breaker = AsyncCircuitBreaker("classify", EnumInfraTransportType.HTTP, threshold=2)

    async def raise_(error: Exception) -> None:
        raise error

    with pytest.raises(InfraTimeoutError):
        await breaker.call(raise_, InfraTimeoutError("slow"))
    for error in (InfraAuthenticationError("no"), ValueError("bug")):
        with pytest.raises(type(error)):
            await breaker.call(raise_, error)
    assert breaker.consecutive_failures == 1
    assert breaker.state is CLOSED
    with pytest.raises(ConnectionError):
        await breaker.call(raise_, ConnectionRefusedError("refused"))
    assert breaker.state is OPEN


async def test_ignore_exceptions_from_the_subcontract_are_not_failures() -> None:
    """Exception names listed in the subcontract's ignore_exceptions are not counted."""
    subcontract = ModelCircuitBreakerSubcontract.model_validate(
        {
            "version": {"major": 1, "minor": 0, "patch": 0},
            "failure_threshold": 1,
            "timeout_seconds": 10,
            "half_open_max_calls": 1,
            "success_threshold": 1,
            "ignore_exceptions": ["InfraTimeoutError"],
        }
    )
    breaker = AsyncCircuitBreaker.from_subcontract(
        subcontract, "ignoring", EnumInfraTransportType.HTTP
    )

    async def slow() -> None:
        raise InfraTimeoutError("slow")

    with pytest.raises(InfraTimeoutError):
        await breaker.call(slow)
    assert breaker.state is CLOSED
    assert breaker.reset_timeout == 10.0


async def test_cancelled_probe_releases_its_permit() -> None:
    """A probe cancelled from outside gives its HALF_OPEN permit back to the next caller."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker(
        "cancel", EnumInfraTransportType.HTTP, threshold=1, reset_timeout=5.0, clock=clock
    )

    async def fail() -> None:
        raise InfraConnectionError("down")

    with pytest.raises(InfraConnectionError):
        await breaker.call(fail)
    clock.advance(5.0)
    task = asyncio.create_task(breaker.call(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def ok() -> str:
        return "ok"

    assert await breaker.call(ok) == "ok"
    assert breaker.state is CLOSED


def _windowed(clock: ManualClock) -> AsyncCircuitBreaker:
    return AsyncCircuitBreaker(
        f"window-{uuid4().hex[:6]}",
        EnumInfraTransportType.HTTP,
        threshold=100,
        failure_rate_threshold=0.5,
        window_seconds=60.0,
        minimum_requests=10,
        clock=clock,
    )


async def _outcomes(breaker: AsyncCircuitBreaker, pattern: str) -> None:
    """Feed 's' (success) and 'f' (failure) outcomes through call()."""

    async def ok() -> None:
        return None

    async def fail() -> None:
        raise InfraConnectionError("down")

    for outcome in pattern:
        if outcome == "s":
            await breaker.call(ok)
        else:
            with pytest.raises((InfraConnectionError, InfraUnavailableError)):
                await breaker.call(fail)


async def test_failure_rate_window_opens_without_consecutive_failures() -> None:
    """Alternating outcomes never reach the consecutive threshold, but a 50% rate over the
    minimum number of requests opens the circuit."""
    breaker = _windowed(ManualClock())
    await _outcomes(breaker, "sf" * 4 + "s")
    assert breaker.state is CLOSED  # 9 requests: below the minimum
    await _outcomes(breaker, "f")
    assert breaker.state is OPEN  # 10 requests, 5 failed


async def test_failure_rate_below_threshold_keeps_the_circuit_closed() -> None:
    """A 20% failure rate (below the 50% threshold) never opens the circuit."""
    breaker = _windowed(ManualClock())
    await _outcomes(breaker, "ssssf" * 20)
    assert breaker.state is CLOSED


async def test_old_outcomes_slide_out_of_the_window() -> None:
    """Failures older than the window no longer count toward the rate."""
    clock = ManualClock()
    breaker = _windowed(clock)
    await _outcomes(breaker, "f" * 5 + "s" * 4)
    clock.advance(61.0)
    await _outcomes(breaker, "s" * 5 + "f")
    assert breaker.state is CLOSED  # only 6 recent requests, one failed


def test_subcontract_asking_for_slow_call_detection_is_refused() -> None:
    """A declared but unsupported slow-call setting fails loudly instead of being ignored."""
    subcontract = ModelCircuitBreakerSubcontract.model_validate(
        {
            "version": {"major": 1, "minor": 0, "patch": 0},
            "slow_call_duration_threshold_ms": 500,
        }
    )
    with pytest.raises(ProtocolConfigurationError, match="slow-call"):
        AsyncCircuitBreaker.from_subcontract(subcontract, "slow", EnumInfraTransportType.HTTP)
