"""Deadline watchdog: shared-timer timeouts that behave like asyncio.timeout."""

from __future__ import annotations

import asyncio

import pytest

from omnibase_infra.deadlines import DeadlineWatchdog
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraTimeoutError


def _watchdog(seconds: float = 0.05) -> DeadlineWatchdog:
    return DeadlineWatchdog(
        seconds, operation="query", target_name="db", transport_type=EnumInfraTransportType.DATABASE
    )


async def _echo(value: int) -> int:
    await asyncio.sleep(0)
    return value


async def test_call_that_finishes_in_time_returns_its_result() -> None:
    """A call within the timeout returns its value and leaves nothing registered."""
    watchdog = _watchdog(5.0)
    assert await watchdog.call(_echo, 7) == 7
    assert len(watchdog) == 0


async def test_call_past_its_deadline_raises_infra_timeout_error() -> None:
    """A call that outlives the timeout is cancelled and reported as InfraTimeoutError."""
    watchdog = _watchdog()
    with pytest.raises(InfraTimeoutError) as caught:
        await watchdog.call(asyncio.sleep, 3600)
    assert caught.value.infra_context.operation == "query"
    assert caught.value.infra_context.transport_type is EnumInfraTransportType.DATABASE
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    assert len(watchdog) == 0


async def test_only_the_slow_calls_of_a_batch_time_out() -> None:
    """Concurrent calls share one timer, yet each is judged by its own deadline."""
    watchdog = _watchdog(0.2)
    release = asyncio.Event()

    async def fast(i: int) -> int:
        return await _echo(i)

    async def stuck() -> None:
        await release.wait()

    results = await asyncio.gather(
        *(watchdog.call(fast, i) for i in range(50)),
        *(watchdog.call(stuck) for _ in range(5)),
        return_exceptions=True,
    )
    assert results[:50] == list(range(50))
    assert all(isinstance(r, InfraTimeoutError) for r in results[50:])
    assert len(watchdog) == 0


async def test_outside_cancellation_is_not_turned_into_a_timeout() -> None:
    """Cancelling the caller propagates CancelledError, as with asyncio.timeout."""
    watchdog = _watchdog(3600.0)
    task = asyncio.create_task(watchdog.call(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancellation_during_expiry_still_propagates() -> None:
    """If the caller is cancelled as its deadline passes too, the cancellation wins."""
    watchdog = _watchdog(0.01)
    started = asyncio.Event()

    async def holdout() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # cleanup long enough for both cancellations to land
            raise

    task = asyncio.create_task(watchdog.call(holdout))
    await started.wait()
    await asyncio.sleep(0.02)  # the deadline has fired and the task is cleaning up
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_call_that_swallows_the_cancellation_leaves_the_task_uncancelled() -> None:
    """A callee that ignores the timeout's cancellation returns normally and later awaits work."""
    watchdog = _watchdog(0.01)

    async def stubborn() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return "ignored"
        return "unreachable"

    assert await watchdog.call(stubborn) == "ignored"
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)  # would raise CancelledError if a cancel request were left over


async def test_later_timeouts_keep_working_after_the_queue_drains() -> None:
    """The watchdog re-arms its timer after being idle."""
    watchdog = _watchdog(0.02)
    for _ in range(3):
        with pytest.raises(InfraTimeoutError):
            await watchdog.call(asyncio.sleep, 3600)
        assert await watchdog.call(_echo, 1) == 1


def test_watchdog_survives_a_new_event_loop() -> None:
    """A watchdog created for one loop keeps working in the next one (one loop per run)."""
    watchdog = _watchdog(0.02)
    for _ in range(2):
        with pytest.raises(InfraTimeoutError):
            asyncio.run(watchdog.call(asyncio.sleep, 3600))


def test_non_positive_timeout_is_refused() -> None:
    """A zero or negative timeout is a programming error."""
    with pytest.raises(ValueError, match="timeout_seconds"):
        DeadlineWatchdog(0, operation="x")
