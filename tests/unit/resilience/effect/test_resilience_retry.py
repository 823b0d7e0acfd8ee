"""Retry policy: which errors are retried, backoff with jitter, limits and Retry-After."""

from __future__ import annotations

import pytest

from omnibase_infra._core import ModelRetrySubcontract
from omnibase_infra.errors import (
    EnvelopeValidationError,
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
    RuntimeHostError,
    SecretResolutionError,
)
from omnibase_infra.resilience import RetryPolicy, is_dependency_failure


def _subcontract(**fields: object) -> ModelRetrySubcontract:
    return ModelRetrySubcontract.model_validate(
        {"version": {"major": 1, "minor": 0, "patch": 0}, **fields}
    )


@pytest.mark.parametrize(
    "error",
    [
        InfraConnectionError("refused"),
        InfraTimeoutError("slow"),
        InfraUnavailableError("down"),
        ConnectionResetError("reset"),
        TimeoutError("slow"),
    ],
)
def test_transient_errors_are_retriable(error: BaseException) -> None:
    """Connection, timeout and unavailable errors (ours and Python's) are retried."""
    assert RetryPolicy().is_retriable(error)


@pytest.mark.parametrize(
    "error",
    [
        InfraAuthenticationError("bad credentials"),
        ProtocolConfigurationError("bad config"),
        SecretResolutionError("missing"),
        EnvelopeValidationError("bad message"),
        ValueError("a bug"),
        KeyError("a bug"),
    ],
)
def test_client_errors_and_bugs_are_not_retriable(error: BaseException) -> None:
    """Client errors and unknown exceptions are never retried."""
    assert not RetryPolicy().is_retriable(error)


def test_retriable_flag_is_authoritative_but_never_for_client_errors() -> None:
    """A retriable=False server error is not retried; retriable=True cannot make a 4xx retried."""
    policy = RetryPolicy()
    assert not policy.is_retriable(InfraConnectionError("permanent", retriable=False))
    assert not policy.is_retriable(EnvelopeValidationError("bad", retriable=True))
    assert policy.is_retriable(RuntimeHostError("flaky", retriable=True))


@pytest.mark.parametrize(
    ("error", "retried", "counts"),
    [
        (RuntimeHostError("HTTP 404", retriable=True, status_code=404), False, False),
        (RuntimeHostError("HTTP 400", retriable=True, status_code=400), False, False),
        (InfraUnavailableError("HTTP 409 as unavailable", status_code=409), False, False),
        (InfraTimeoutError("HTTP 408", status_code=408), True, True),
        (InfraUnavailableError("HTTP 429", status_code=429), True, True),
        (InfraUnavailableError("HTTP 502", status_code=502), True, True),
        (RuntimeHostError("HTTP 500", retriable=False, status_code=500), False, True),
        (RuntimeHostError("no answer: class default 500", retriable=True), True, True),
    ],
)
def test_the_answers_status_decides_not_the_error_class(
    error: RuntimeHostError, retried: bool, counts: bool
) -> None:
    """Retry and breaker read the status of what happened (the response's): a 4xx other than
    408/429 is never retried and never counts against the dependency, whatever the error class
    or retriable flag says."""
    assert RetryPolicy().is_retriable(error) is retried
    assert is_dependency_failure(error) is counts


def test_retry_on_timeout_false_stops_timeout_retries() -> None:
    """The subcontract's retry_on_timeout=False makes timeouts final."""
    policy = RetryPolicy.from_subcontract(_subcontract(retry_on_timeout=False))
    assert not policy.is_retriable(InfraTimeoutError("slow"))
    assert policy.is_retriable(InfraConnectionError("refused"))


def test_non_retryable_error_codes_veto_retries() -> None:
    """An error code listed in non_retryable_error_codes is not retried even when retriable."""
    policy = RetryPolicy(non_retryable_error_codes=["SERVICE_UNAVAILABLE"])
    assert not policy.is_retriable(InfraUnavailableError("down"))
    assert policy.is_retriable(InfraTimeoutError("slow"))


def test_exponential_backoff_is_capped() -> None:
    """Exponential delays grow by the multiplier from the base and stop at max_delay."""
    policy = RetryPolicy(
        max_attempts=10,
        base_delay_seconds=0.5,
        backoff_multiplier=3.0,
        max_delay_seconds=10.0,
        jitter_factor=0.0,
    )
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10.0, 10.0]


def test_linear_and_constant_backoff() -> None:
    """Linear delays grow by the base each attempt; constant ones stay at the base."""
    linear = RetryPolicy(base_delay_seconds=2.0, backoff_strategy="linear", jitter_factor=0)
    constant = RetryPolicy(base_delay_seconds=2.0, backoff_strategy="constant", jitter_factor=0)
    assert [linear.backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 6.0]
    assert [constant.backoff(n) for n in (1, 2, 3)] == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_spreads_the_delay_by_the_jitter_factor(draw: float, factor: float) -> None:
    """Jitter moves the delay within +-jitter_factor of the backoff (draw 0 -> -10%, 1 -> +10%)."""
    policy = RetryPolicy(base_delay_seconds=1.0, jitter_factor=0.1, random_source=lambda: draw)
    assert policy.backoff(1) == pytest.approx(factor)


def test_max_attempts_counts_the_first_attempt() -> None:
    """max_retries=2 means three attempts: the third failure is final."""
    policy = RetryPolicy.from_subcontract(_subcontract(max_retries=2, jitter_enabled=False))
    error = InfraConnectionError("refused")
    assert policy.max_attempts == 3
    assert policy.next_delay(1, error, 0.0) == 1.0
    assert policy.next_delay(2, error, 0.0) == 2.0
    assert policy.next_delay(3, error, 0.0) is None


def test_no_retries_declared_means_a_single_attempt() -> None:
    """A contract without retry (retry: null) gets exactly one attempt."""
    policy = RetryPolicy.from_subcontract(None)
    assert policy.max_attempts == 1
    assert policy.next_delay(1, InfraConnectionError("refused"), 0.0) is None


def test_retry_after_is_a_floor_on_the_delay() -> None:
    """A retry_after_seconds announced by the error delays the retry at least that long."""
    policy = RetryPolicy(base_delay_seconds=0.1, jitter_factor=0.0)
    error = InfraUnavailableError("busy", retry_after_seconds=7.5)
    assert policy.next_delay(1, error, 0.0) == 7.5
    short = InfraUnavailableError("busy", retry_after_seconds=0.01)
    assert policy.next_delay(1, short, 0.0) == 0.1


def test_max_elapsed_time_stops_retries_that_would_overrun_it() -> None:
    """No retry is scheduled when waiting for it would pass max_elapsed_seconds."""
    policy = RetryPolicy(base_delay_seconds=2.0, jitter_factor=0.0, max_elapsed_seconds=10.0)
    error = InfraTimeoutError("slow")
    assert policy.next_delay(1, error, 7.9) == 2.0
    assert policy.next_delay(1, error, 8.1) is None
    assert policy.next_delay(1, InfraUnavailableError("x", retry_after_seconds=60.0), 0.0) is None


def test_invalid_construction_is_refused() -> None:
    """Zero attempts or an unknown strategy are programming errors, refused at construction."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="strategy"):
        RetryPolicy(backoff_strategy="fibonacci")
