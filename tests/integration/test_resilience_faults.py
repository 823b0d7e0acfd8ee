"""Fault tests: the effect executor against a real HTTP dependency whose failure rate steps.

The dependency is a separate process on 127.0.0.1 (``flaky_http_server``), called over real
HTTP with httpx and errors translated as the HTTP handlers translate them. Breaker and retry
timing run on a ``ManualClock`` so that open and recovery times are asserted by state
transitions and request counts, never by wall time; attempt timeouts are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import JsonValue

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraTimeoutError,
    InfraUnavailableError,
    ModelInfraErrorContext,
    RuntimeHostError,
)
from omnibase_infra.handlers.httpx_support import error_for_status, translate_transport_error
from omnibase_infra.resilience import AsyncCircuitBreaker, EffectExecutor, RetryPolicy
from omnibase_infra.testing import FlakyHttpServer, ManualClock

pytestmark = pytest.mark.integration

CLOSED = EnumCircuitBreakerState.CLOSED
OPEN = EnumCircuitBreakerState.OPEN
HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN

THRESHOLD = 5
RESET_TIMEOUT = 30.0
SUCCESS_THRESHOLD = 2
HALF_OPEN_MAX_CALLS = 2
MAX_ATTEMPTS = 3
MAX_DELIVERIES = 3
_CONTEXT = ModelInfraErrorContext(
    transport_type=EnumInfraTransportType.HTTP, operation="work", target_name="flaky-http"
)


@pytest.fixture
async def client(flaky_http_server: FlakyHttpServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=flaky_http_server.base_url, timeout=10.0) as c:
        yield c


async def _post_work(client: httpx.AsyncClient, item: str) -> JsonValue:
    """The handler call: one POST, errors translated at the boundary."""
    try:
        response = await client.post(f"/work/{item}")
    except httpx.HTTPError as exc:
        raise translate_transport_error(exc, _CONTEXT) from exc
    if response.status_code >= 400:
        raise error_for_status(response.status_code, response.headers, _CONTEXT)
    body: JsonValue = response.json()
    return body


@dataclass
class _Consumer:
    """Delivers accepted items through the executor; failures are redelivered, then DLQ'd."""

    executor: EffectExecutor
    client: httpx.AsyncClient
    accepted: list[str] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    dlq: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    rejected: int = 0

    async def deliver(self, item: str) -> None:
        self.deliveries[item] = self.deliveries.get(item, 0) + 1
        try:
            await self.executor.call(_post_work, self.client, item)
        except RuntimeHostError as exc:
            if isinstance(exc, InfraUnavailableError) and "circuit breaker" in str(exc):
                self.rejected += 1
            if self.deliveries[item] >= MAX_DELIVERIES:
                self.dlq.add(item)
            else:
                self.pending.append(item)
            return
        self.done.add(item)

    async def accept(self, items: list[str], *, concurrently: bool = False) -> None:
        self.accepted.extend(items)
        if concurrently:
            await asyncio.gather(*(self.deliver(i) for i in items))
        else:
            for item in items:
                await self.deliver(item)

    async def redeliver(self) -> None:
        batch, self.pending = self.pending, []
        for item in batch:
            await self.deliver(item)


def _system(clock: ManualClock) -> tuple[EffectExecutor, AsyncCircuitBreaker, list[tuple]]:
    transitions: list[tuple[EnumCircuitBreakerState, EnumCircuitBreakerState, float]] = []
    breaker = AsyncCircuitBreaker(
        "flaky-http",
        EnumInfraTransportType.HTTP,
        threshold=THRESHOLD,
        reset_timeout=RESET_TIMEOUT,
        success_threshold=SUCCESS_THRESHOLD,
        half_open_max_calls=HALF_OPEN_MAX_CALLS,
        clock=clock,
        on_transition=lambda old, new, at: transitions.append((old, new, at)),
    )
    executor = EffectExecutor(
        "faults.work",
        retry=RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay_seconds=0.1, jitter_factor=0.0),
        breaker=breaker,
        timeout_seconds=5.0,
        transport_type=EnumInfraTransportType.HTTP,
        clock=clock,
        sleep=clock.sleep,
    )
    return executor, breaker, transitions


async def _requests(server: FlakyHttpServer) -> int:
    stats = await server.stats()
    value = stats["requests"]
    assert isinstance(value, int)
    return value


async def test_failure_rate_steps_0_20_100_0(
    flaky_http_server: FlakyHttpServer, client: httpx.AsyncClient
) -> None:
    """0% -> 20% -> 100% -> 0%: retries absorb 20%, 100% opens the breaker after exactly
    THRESHOLD requests, nothing leaks while open, recovery follows the configured times, and
    every accepted item ends done or dead-lettered."""
    server = flaky_http_server
    clock = ManualClock()
    executor, breaker, transitions = _system(clock)
    consumer = _Consumer(executor, client)

    # 0%: every item done at the first attempt.
    await consumer.accept([f"a{i}" for i in range(40)])
    assert consumer.done == {f"a{i}" for i in range(40)}
    assert await _requests(server) == 40

    # 20%: every fifth request fails, each failure costs exactly one retry, no breaker trip.
    await server.control(failure_rate=0.2)
    await server.reset()
    await consumer.accept([f"b{i}" for i in range(40)])
    stats = await server.stats()
    assert {f"b{i}" for i in range(40)} <= consumer.done
    assert stats["failures"] == stats["requests"] - 40  # type: ignore[operator]
    assert stats["failures"] == stats["requests"] // 5  # type: ignore[operator]
    attempts = stats["attempts"]
    assert isinstance(attempts, dict)
    assert max(attempts.values()) <= MAX_ATTEMPTS
    assert breaker.state is CLOSED
    assert transitions == []

    # 100%: THRESHOLD failing requests open the circuit; afterwards nothing reaches the server.
    await server.control(failure_rate=1.0)
    await server.reset()
    await consumer.accept([f"c{i}" for i in range(20)])
    assert breaker.state is OPEN
    assert await _requests(server) == THRESHOLD
    opened_at = transitions[0][2]
    assert transitions == [(CLOSED, OPEN, opened_at)]
    assert consumer.rejected >= 18  # c1's cut-short retry and c2..c19 never left the process

    # Still open just before the reset timeout: redeliveries are refused without a request;
    # the third refusal of an item dead-letters it.
    clock.now = opened_at + RESET_TIMEOUT - 0.01
    await consumer.redeliver()
    await consumer.redeliver()
    assert await _requests(server) == THRESHOLD
    assert breaker.state is OPEN
    assert consumer.dlq == {f"c{i}" for i in range(20)}
    assert consumer.pending == []

    # At the reset timeout: at most HALF_OPEN_MAX_CALLS concurrent probes reach the server;
    # they fail (still 100%), so the circuit opens again for a full reset timeout.
    clock.now = opened_at + RESET_TIMEOUT
    probes = [f"p{i}" for i in range(6)]
    await consumer.accept(probes, concurrently=True)
    assert await _requests(server) == THRESHOLD + HALF_OPEN_MAX_CALLS
    assert breaker.state is OPEN
    reopened_at = transitions[-1][2]
    assert transitions[1:] == [
        (OPEN, HALF_OPEN, opened_at + RESET_TIMEOUT),
        (HALF_OPEN, OPEN, reopened_at),
    ]

    # 0% again: after the reset timeout SUCCESS_THRESHOLD probes close it; redeliveries finish.
    await server.control(failure_rate=0.0)
    clock.now = reopened_at + RESET_TIMEOUT
    while consumer.pending:
        await consumer.redeliver()
    assert breaker.state is CLOSED
    assert transitions[3:] == [
        (OPEN, HALF_OPEN, reopened_at + RESET_TIMEOUT),
        (HALF_OPEN, CLOSED, reopened_at + RESET_TIMEOUT),
    ]

    # Everything accepted ended exactly once: done or in the DLQ, never both, never lost.
    assert consumer.done | consumer.dlq == set(consumer.accepted)
    assert not consumer.done & consumer.dlq
    assert consumer.done == {f"{k}{i}" for k in "ab" for i in range(40)} | set(probes)
    successes = (await server.stats())["successes"]
    assert isinstance(successes, dict)
    assert all(count == 1 for count in successes.values())
    assert max(consumer.deliveries.values()) <= MAX_DELIVERIES


async def test_no_retry_storm_under_concurrent_load(
    flaky_http_server: FlakyHttpServer, client: httpx.AsyncClient
) -> None:
    """Fifty concurrent callers against a dead dependency never exceed their attempts, and
    once the circuit is open a second wave sends no request at all."""
    server = flaky_http_server
    await server.control(failure_rate=1.0)
    clock = ManualClock()
    executor, breaker, _ = _system(clock)
    consumer = _Consumer(executor, client)
    await consumer.accept([f"w{i}" for i in range(50)], concurrently=True)
    stats = await server.stats()
    attempts = stats["attempts"]
    assert isinstance(attempts, dict)
    assert max(attempts.values()) <= MAX_ATTEMPTS
    # Only failures recorded before the circuit opened can have scheduled a retry.
    assert stats["requests"] <= 50 + (THRESHOLD - 1) * (MAX_ATTEMPTS - 1)  # type: ignore[operator]
    assert breaker.state is OPEN
    before = await _requests(server)
    await consumer.accept([f"x{i}" for i in range(50)], concurrently=True)
    assert await _requests(server) == before


async def test_retry_after_from_the_dependency_is_honoured(
    flaky_http_server: FlakyHttpServer, client: httpx.AsyncClient
) -> None:
    """A 503 with Retry-After: 7 delays the retry by 7 s (virtual), then it succeeds."""
    server = flaky_http_server
    await server.control(failure_rate=1.0, retry_after=7)
    clock = ManualClock()
    delays: list[float] = []

    async def sleep_and_recover(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(seconds)
        await server.control(failure_rate=0.0)

    executor = EffectExecutor(
        "faults.retry_after",
        retry=RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay_seconds=0.1, jitter_factor=0.0),
        timeout_seconds=5.0,
        clock=clock,
        sleep=sleep_and_recover,
    )
    assert await executor.call(_post_work, client, "r1") == {"item": "r1", "attempt": 2}
    assert delays == [7.0]
    assert await _requests(server) == 2


async def test_slow_dependency_times_out_and_counts_for_the_breaker(
    flaky_http_server: FlakyHttpServer, client: httpx.AsyncClient
) -> None:
    """Attempts slower than the timeout end in InfraTimeoutError after MAX_ATTEMPTS tries and
    count as breaker failures; once the dependency is fast again calls succeed."""
    server = flaky_http_server
    await server.control(delay_seconds=2.0)
    clock = ManualClock()
    breaker = AsyncCircuitBreaker(
        "slow-http", EnumInfraTransportType.HTTP, threshold=10, clock=clock
    )
    executor = EffectExecutor(
        "faults.slow",
        retry=RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay_seconds=0.1, jitter_factor=0.0),
        breaker=breaker,
        timeout_seconds=0.1,
        transport_type=EnumInfraTransportType.HTTP,
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(InfraTimeoutError):
        await executor.call(_post_work, client, "t1")
    assert breaker.consecutive_failures == MAX_ATTEMPTS
    await server.control(delay_seconds=0.0)
    assert await executor.call(_post_work, client, "t2") == {"item": "t2", "attempt": 1}
    assert breaker.consecutive_failures == 0
