"""Effect executor: timeout, retry and breaker composed around handler calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from uuid import uuid4

import pytest
import structlog

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.correlation import correlation_scope
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    SecretResolutionError,
)
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationConflictError
from omnibase_infra.observability import logging as infra_logging
from omnibase_infra.observability.metrics import render_metrics
from omnibase_infra.resilience import (
    AsyncCircuitBreaker,
    EffectExecutor,
    ModelEffectPolicy,
    RetryPolicy,
)
from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing import ManualClock

HTTP = EnumInfraTransportType.HTTP


class _Handler:
    """A handler whose next outcomes are scripted: an exception to raise, or a value."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class _Refresher:
    def __init__(self) -> None:
        self.refreshes = 0

    async def refresh_credentials(self) -> None:
        self.refreshes += 1
        await asyncio.sleep(0)


def _name() -> str:
    return f"test.effect.{uuid4().hex[:8]}"


def _executor(clock: ManualClock, **options: object) -> EffectExecutor:
    defaults: dict[str, object] = {
        "retry": RetryPolicy(max_attempts=3, base_delay_seconds=1.0, jitter_factor=0.0),
        "clock": clock,
        "sleep": clock.sleep,
    }
    defaults.update(options)
    return EffectExecutor(_name(), **defaults)  # type: ignore[arg-type]


@pytest.fixture
def logs() -> Iterator[list[structlog.typing.EventDict]]:
    with structlog.testing.capture_logs(processors=[infra_logging._add_correlation_id]) as entries:
        yield entries


async def test_transient_failures_are_retried_with_backoff_until_success() -> None:
    """Two connection failures then success: three attempts, delays 1 s and 2 s."""
    clock = ManualClock()
    handler = _Handler(InfraConnectionError("refused"), InfraConnectionError("refused"), "done")
    executor = _executor(clock)
    assert await executor.call(handler) == "done"
    assert handler.calls == 3
    assert clock.sleeps == [1.0, 2.0]


async def test_attempts_never_exceed_max_attempts() -> None:
    """A dependency that keeps failing is called exactly max_attempts times, then the error."""
    clock = ManualClock()
    handler = _Handler(*[InfraConnectionError("refused")] * 10)
    with pytest.raises(InfraConnectionError):
        await _executor(clock).call(handler)
    assert handler.calls == 3


async def test_non_retriable_error_is_raised_after_one_attempt() -> None:
    """A client error is raised at once: no retry, no sleep."""
    clock = ManualClock()
    handler = _Handler(SecretResolutionError("no such secret"))
    with pytest.raises(SecretResolutionError):
        await _executor(clock).call(handler)
    assert handler.calls == 1
    assert clock.sleeps == []


async def test_retry_after_of_the_error_is_honoured() -> None:
    """An InfraUnavailableError with retry_after_seconds delays the retry that long."""
    clock = ManualClock()
    handler = _Handler(InfraUnavailableError("busy", retry_after_seconds=12.0), "ok")
    assert await _executor(clock).call(handler) == "ok"
    assert clock.sleeps == [12.0]


async def test_retries_stop_at_max_elapsed_time() -> None:
    """With a 2.5 s budget only the first retry (after 1 s) fits; the next would overrun it."""
    clock = ManualClock()
    retry = RetryPolicy(
        max_attempts=10, base_delay_seconds=1.0, jitter_factor=0.0, max_elapsed_seconds=2.5
    )
    handler = _Handler(*[InfraConnectionError("refused")] * 10)
    with pytest.raises(InfraConnectionError):
        await _executor(clock, retry=retry).call(handler)
    assert handler.calls == 2
    assert clock.sleeps == [1.0]


async def test_timeout_of_an_attempt_is_retried_as_a_timeout() -> None:
    """An attempt that hangs is cut by the timeout and retried; the next attempt succeeds."""
    clock = ManualClock()
    hang = asyncio.Event()
    calls = 0

    async def sometimes_hangs() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await hang.wait()
        return "ok"

    executor = _executor(clock, timeout_seconds=0.02)
    assert await executor.call(sometimes_hangs) == "ok"
    assert calls == 2


async def test_timeout_exhausting_attempts_raises_infra_timeout_error() -> None:
    """When every attempt times out, the caller gets InfraTimeoutError."""
    clock = ManualClock()
    executor = _executor(clock, timeout_seconds=0.01)
    with pytest.raises(InfraTimeoutError):
        await executor.call(asyncio.sleep, 3600)
    assert len(clock.sleeps) == 2


async def test_open_circuit_fails_fast_without_retrying() -> None:
    """Once the breaker opens, the current call stops retrying and later calls never run."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker("dep", HTTP, threshold=2, reset_timeout=30.0, clock=clock)
    retry = RetryPolicy(max_attempts=5, base_delay_seconds=1.0, jitter_factor=0.0)
    executor = _executor(clock, breaker=breaker, retry=retry)
    handler = _Handler(*[InfraConnectionError("refused")] * 10)
    with pytest.raises(InfraUnavailableError) as caught:
        await executor.call(handler)
    assert handler.calls == 2  # the second failure opened the circuit: no third attempt
    assert clock.sleeps == [1.0]  # and no wait for a retry that could only be rejected
    assert caught.value.retry_after_seconds == pytest.approx(30.0)
    assert isinstance(caught.value.__cause__, InfraConnectionError)
    with pytest.raises(InfraUnavailableError):
        await executor.call(handler)
    assert handler.calls == 2
    assert breaker.state is EnumCircuitBreakerState.OPEN


async def test_version_conflicts_never_open_the_storage_breaker() -> None:
    """A registration conflict (another writer won) is not a PostgreSQL failure: however many
    arrive in a row, the breaker stays closed and the next write goes through."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker("postgres", HTTP, threshold=2, reset_timeout=30.0, clock=clock)
    executor = _executor(clock, breaker=breaker, retry=None)
    for _ in range(5):
        with pytest.raises(RegistrationConflictError):
            await executor.call(_Handler(RegistrationConflictError("moved on", retriable=False)))
    assert breaker.state is EnumCircuitBreakerState.CLOSED
    assert await executor.call(_Handler("written")) == "written"


async def test_breaker_recovers_through_the_executor() -> None:
    """After reset_timeout, a successful call through the executor closes the circuit."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker("dep", HTTP, threshold=1, reset_timeout=30.0, clock=clock)
    executor = _executor(clock, breaker=breaker, retry=None)
    with pytest.raises(InfraConnectionError):
        await executor.call(_Handler(InfraConnectionError("refused")))
    clock.advance(30.0)
    assert await executor.call(_Handler("back")) == "back"
    assert breaker.state is EnumCircuitBreakerState.CLOSED


async def test_authentication_error_refreshes_credentials_then_retries_once() -> None:
    """An auth failure triggers one refresh and exactly one more attempt."""
    clock = ManualClock()
    refresher = _Refresher()
    handler = _Handler(InfraAuthenticationError("expired token"), "ok")
    executor = _executor(clock, credential_refresher=refresher)
    assert await executor.call(handler) == "ok"
    assert (refresher.refreshes, handler.calls, clock.sleeps) == (1, 2, [])


async def test_authentication_error_after_refresh_is_final() -> None:
    """If fresh credentials are rejected too, the error is raised: no second refresh."""
    clock = ManualClock()
    refresher = _Refresher()
    handler = _Handler(*[InfraAuthenticationError("denied")] * 5)
    executor = _executor(clock, credential_refresher=refresher)
    with pytest.raises(InfraAuthenticationError):
        await executor.call(handler)
    assert (refresher.refreshes, handler.calls) == (1, 2)


async def test_authentication_error_without_refresher_is_not_retried() -> None:
    """Without a credential refresher an auth failure is final at once."""
    clock = ManualClock()
    handler = _Handler(InfraAuthenticationError("denied"), "ok")
    with pytest.raises(InfraAuthenticationError):
        await _executor(clock).call(handler)
    assert handler.calls == 1


async def test_concurrent_auth_failures_share_one_refresh() -> None:
    """Many calls failing on the same stale credentials cause a single refresh."""
    clock = ManualClock()
    refresher = _Refresher()
    stale = True
    gate = asyncio.Event()

    async def handler() -> str:
        await gate.wait()
        if stale and refresher.refreshes == 0:
            raise InfraAuthenticationError("expired token")
        return "ok"

    executor = _executor(clock, credential_refresher=refresher)
    tasks = [asyncio.create_task(executor.call(handler)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == ["ok"] * 10
    assert refresher.refreshes == 1


async def test_every_failed_attempt_is_logged_with_the_correlation_id(
    logs: list[structlog.typing.EventDict],
) -> None:
    """Each failed attempt logs its number, delay and error under the call's correlation id."""
    clock = ManualClock()
    handler = _Handler(InfraConnectionError("refused"), InfraConnectionError("refused"), "ok")
    executor = _executor(clock)
    with correlation_scope() as correlation_id:
        await executor.call(handler)
    retries = [e for e in logs if e["event"] == "effect attempt failed, retrying"]
    assert [e["attempt"] for e in retries] == [1, 2]
    assert [e["delay_seconds"] for e in retries] == [1.0, 2.0]
    assert all(e["correlation_id"] == str(correlation_id) for e in retries)
    assert any(e["event"] == "effect call succeeded after retry" for e in logs)


async def test_attempts_retries_and_failures_are_counted_in_metrics() -> None:
    """Calls, attempts, retries, failures and timeouts of an effect appear on /metrics."""
    clock = ManualClock()
    executor = _executor(clock)
    await executor.call(_Handler(InfraConnectionError("refused"), "ok"))
    with pytest.raises(InfraConnectionError):
        await executor.call(_Handler(*[InfraConnectionError("refused")] * 3))
    text = render_metrics().decode()
    label = f'{{effect="{executor.name}"}}'
    assert f"onex_effect_calls_total{label} 2.0" in text
    assert f"onex_effect_attempts_total{label} 5.0" in text
    assert f"onex_effect_retries_total{label} 3.0" in text
    assert f"onex_effect_failures_total{label} 1.0" in text


async def test_failure_logs_do_not_leak_secrets(
    logs: list[structlog.typing.EventDict],
) -> None:
    """A secret inside a driver's error message never reaches the retry logs."""
    secret = f"s3cr3t-{uuid4().hex}"
    register_secret(secret)
    clock = ManualClock()
    handler = _Handler(ConnectionError(f"connect failed for token {secret}"), "ok")
    await _executor(clock).call(handler)
    assert logs
    assert secret not in repr(logs)


async def test_external_cancellation_propagates_and_is_not_retried() -> None:
    """Cancelling the caller stops the call at once; it is neither retried nor a failure."""
    clock = ManualClock()
    breaker = AsyncCircuitBreaker("dep", HTTP, threshold=1, clock=clock)
    executor = _executor(clock, breaker=breaker, timeout_seconds=3600)
    task = asyncio.create_task(executor.call(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleeps == []
    assert breaker.state is EnumCircuitBreakerState.CLOSED


async def test_from_policy_builds_retry_breaker_and_timeout_from_the_contract() -> None:
    """The executor follows the contract: attempts, breaker threshold and attempt timeout."""
    clock = ManualClock()
    policy = ModelEffectPolicy.model_validate(
        {
            "timeout_seconds": 0.05,
            "retry": {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "max_retries": 1,
                "base_delay_seconds": 0.1,
                "jitter_enabled": False,
            },
            "circuit_breaker": {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "failure_threshold": 4,
                "timeout_seconds": 10,
                "half_open_max_calls": 1,
                "success_threshold": 1,
            },
            "idempotency": {"enabled": False},
        }
    )
    executor = EffectExecutor.from_policy(_name(), policy, clock=clock, sleep=clock.sleep)
    handler = _Handler(*[InfraConnectionError("refused")] * 10)
    with pytest.raises(InfraConnectionError):
        await executor.call(handler)
    assert handler.calls == 2
    assert clock.sleeps == [0.1]
    with pytest.raises(InfraConnectionError):
        await executor.call(handler)
    assert executor.breaker is not None
    assert executor.breaker.state is EnumCircuitBreakerState.OPEN
    assert handler.calls == 4
    with pytest.raises(InfraTimeoutError):
        await EffectExecutor.from_policy(_name(), policy, clock=clock, sleep=clock.sleep).call(
            asyncio.sleep, 3600
        )


async def test_from_policy_takes_transport_and_service_from_the_contract() -> None:
    """A refusal names the transport and the service the contract declares for the capability."""
    policy = ModelEffectPolicy.model_validate(
        {
            "transport": "http",
            "targets": {"cap.discovery": {"transport": "consul", "service_name": "discovery"}},
            "retry": None,
            "circuit_breaker": {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "failure_threshold": 1,
                "timeout_seconds": 10,
                "half_open_max_calls": 1,
                "success_threshold": 1,
            },
            "idempotency": {"enabled": False},
        }
    )
    clock = ManualClock()
    executor = EffectExecutor.from_policy("cap.discovery", policy, clock=clock, sleep=clock.sleep)
    with pytest.raises(InfraConnectionError):
        await executor.call(_Handler(InfraConnectionError("refused")))
    with pytest.raises(InfraUnavailableError) as caught:
        await executor.call(_Handler())
    context = caught.value.infra_context
    assert context.transport_type is EnumInfraTransportType.CONSUL
    assert context.target_name == "discovery"


async def test_arguments_are_passed_through() -> None:
    """Positional and keyword arguments reach the handler unchanged."""

    async def add(a: int, b: int, *, scale: int) -> int:
        return (a + b) * scale

    assert await _executor(ManualClock()).call(add, 1, 2, scale=10) == 30
