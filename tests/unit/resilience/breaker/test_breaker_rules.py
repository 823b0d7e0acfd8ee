"""CircuitBreakerRules: the one rule set every breaker of the package applies, pinned once."""

from __future__ import annotations

import pytest

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience import CircuitBreakerRules
from omnibase_infra.resilience.breaker.rules import CLOSED, HALF_OPEN, OPEN


def _open(rules: CircuitBreakerRules, at: float = 0.0) -> None:
    for _ in range(rules.threshold):
        rules.on_failure(at)
    assert rules.state is OPEN


def test_threshold_consecutive_failures_open_and_a_success_resets_the_count() -> None:
    """Failures below the threshold leave it CLOSED; a success in between starts again."""
    rules = CircuitBreakerRules(threshold=3, reset_timeout=10.0)
    rules.on_failure(0.0)
    rules.on_failure(0.0)
    rules.on_success(0.0)
    rules.on_failure(0.0)
    rules.on_failure(0.0)
    assert rules.state is CLOSED
    rules.on_failure(1.0)
    assert rules.state is OPEN
    assert rules.open_until == pytest.approx(11.0)


def test_open_refuses_until_the_reset_timeout_then_admits_a_probe() -> None:
    """OPEN answers with the seconds left; after the timeout a request becomes a probe."""
    rules = CircuitBreakerRules(threshold=1, reset_timeout=10.0)
    _open(rules)
    assert rules.admit(4.0) == pytest.approx(6.0)
    assert rules.refusing_for(4.0) == pytest.approx(6.0)
    assert rules.admit(10.0) is None
    assert rules.state is HALF_OPEN
    assert rules.half_open_in_flight == 1


def test_a_late_failure_in_open_does_not_extend_the_timeout() -> None:
    """A call admitted before the circuit opened and failing afterwards is only counted."""
    rules = CircuitBreakerRules(threshold=1, reset_timeout=10.0)
    _open(rules)
    rules.on_failure(9.0)
    assert rules.open_until == pytest.approx(10.0)
    assert rules.consecutive_failures == 2


def test_probe_permits_are_limited_and_abandoned_ones_are_handed_out_again() -> None:
    """HALF_OPEN admits half_open_max_calls probes; a permit older than the timeout is freed."""
    rules = CircuitBreakerRules(
        threshold=1, reset_timeout=10.0, success_threshold=2, half_open_max_calls=2
    )
    _open(rules)
    assert rules.admit(10.0) is None
    assert rules.admit(10.0) is None
    assert rules.admit(12.0) == pytest.approx(8.0)
    assert rules.admit(20.0) is None
    assert rules.half_open_in_flight == 1


def test_success_threshold_closes_and_one_failed_probe_reopens() -> None:
    """success_threshold successful probes close it; a failed probe opens it for a new timeout."""
    rules = CircuitBreakerRules(
        threshold=1, reset_timeout=10.0, success_threshold=2, half_open_max_calls=2
    )
    _open(rules)
    rules.admit(10.0)
    rules.on_success(10.5)
    assert rules.state is HALF_OPEN
    rules.admit(11.0)
    rules.on_success(11.5)
    assert rules.state is CLOSED
    assert rules.consecutive_failures == 0
    _open(rules, at=20.0)
    rules.admit(30.0)
    rules.on_failure(31.0)
    assert rules.state is OPEN
    assert rules.open_until == pytest.approx(41.0)


def test_release_frees_a_probe_permit_and_says_nothing_about_the_service() -> None:
    """A released probe neither counts as a success nor as a failure."""
    rules = CircuitBreakerRules(threshold=1, reset_timeout=10.0)
    _open(rules)
    rules.admit(10.0)
    rules.release()
    assert rules.state is HALF_OPEN
    assert rules.half_open_in_flight == 0
    assert rules.half_open_successes == 0
    assert rules.admit(10.0) is None


def test_the_failure_rate_window_opens_without_consecutive_failures() -> None:
    """Enough outcomes in the window with at least the failure rate failed open it."""
    rules = CircuitBreakerRules(
        threshold=100,
        reset_timeout=10.0,
        failure_rate_threshold=0.5,
        window_seconds=60.0,
        minimum_requests=10,
    )
    for second in range(9):
        (rules.on_failure if second % 2 == 0 else rules.on_success)(float(second))
    assert rules.state is CLOSED
    rules.on_success(9.0)
    rules.on_failure(10.0)
    assert rules.state is OPEN


def test_impossible_settings_are_refused() -> None:
    """A threshold below 1, no reset timeout, or fewer probes than successes needed fail."""
    with pytest.raises(ProtocolConfigurationError):
        CircuitBreakerRules(threshold=0, reset_timeout=1.0)
    with pytest.raises(ProtocolConfigurationError):
        CircuitBreakerRules(threshold=1, reset_timeout=0.0)
    with pytest.raises(ProtocolConfigurationError):
        CircuitBreakerRules(
            threshold=1, reset_timeout=1.0, success_threshold=3, half_open_max_calls=2
        )
