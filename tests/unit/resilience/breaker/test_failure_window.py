"""FailureWindow: the bucketed failure-rate window, and the breaker's success path feeding it."""

from __future__ import annotations

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.resilience import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.failure_window import WINDOW_BUCKETS, FailureWindow
from omnibase_infra.resilience.breaker.rules import CLOSED, OPEN


def test_outcomes_age_out_bucket_by_bucket() -> None:
    """An outcome counts until its bucket is a whole window old, then no more."""
    window = FailureWindow(10.0)  # buckets of 1 s
    window.add_success(0.5)
    window.add_failure(3.2)
    window.add_success(3.9)
    assert window.counts(9.99) == (2, 1)
    assert window.counts(10.0) == (1, 1)  # bucket 0 left the window
    assert window.counts(12.99) == (1, 1)
    assert window.counts(13.0) == (0, 0)  # bucket 3 left too


def test_a_jump_longer_than_the_window_empties_it() -> None:
    """After a silence longer than the window nothing old is counted, and new outcomes are."""
    window = FailureWindow(10.0)
    for second in range(WINDOW_BUCKETS):
        window.add_failure(float(second))
    window.add_success(1000.0)
    assert window.counts(1000.0) == (1, 0)


def test_a_clock_that_steps_back_counts_in_the_newest_bucket() -> None:
    """An outcome stamped before the newest bucket is counted there, not lost or misplaced."""
    window = FailureWindow(10.0)
    window.add_success(5.0)
    window.add_failure(2.0)
    assert window.counts(5.0) == (1, 1)
    assert window.counts(14.0) == (1, 1)
    assert window.counts(15.0) == (0, 0)


def test_export_and_restore_carry_the_newest_bucket() -> None:
    """A restored window counts as the exported one did, including the newest bucket."""
    window = FailureWindow(10.0)
    window.add_success(1.0)
    window.add_failure(4.0)
    window.add_failure(4.5)
    bucket, successes, failures = window.export()
    assert bucket == 4
    assert sum(successes) == 1
    assert failures[4] == 2
    again = FailureWindow.restore(10.0, bucket, successes, failures)
    again.add_success(4.7)
    assert again.counts(4.8) == (2, 2)
    assert again.counts(11.0) == (1, 2)  # bucket 1 aged out, bucket 4 kept


def test_clear_forgets_the_newest_bucket_too() -> None:
    """After clear nothing is counted, also what the newest bucket held."""
    window = FailureWindow(10.0)
    window.add_success(1.0)
    window.add_failure(1.0)
    window.clear()
    assert window.counts(1.0) == (0, 0)


def test_breaker_successes_dilute_failures_only_while_in_the_window() -> None:
    """A breaker's old successes stop diluting the failure rate once they leave the window."""
    now = [0.0]
    breaker = AsyncCircuitBreaker(
        "window-test",
        EnumInfraTransportType.HTTP,
        threshold=100,
        failure_rate_threshold=0.5,
        window_seconds=10.0,
        minimum_requests=4,
        clock=lambda: now[0],
    )
    for _ in range(6):
        breaker.admit()
        breaker.on_success()
    now[0] = 5.0
    for _ in range(3):
        breaker.admit()
        breaker.on_failure()
    assert breaker.state is CLOSED  # 3 of 9 failed
    now[0] = 10.5  # the successes of bucket 0 have left the window
    breaker.admit()
    breaker.on_success()  # resets the consecutive count and is counted: 1 success, 3 failures
    assert breaker.consecutive_failures == 0
    assert breaker.state is CLOSED
    breaker.admit()
    breaker.on_failure()
    assert breaker.state is OPEN
