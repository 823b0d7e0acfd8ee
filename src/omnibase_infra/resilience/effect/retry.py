"""``RetryPolicy``: whether a failed attempt may be retried, and after how long.

Built once from core's ``ModelRetrySubcontract``; every decision is a few arithmetic operations
on precomputed fields. The rules:

- only retriable errors: a ``RuntimeHostError`` whose ``retriable`` flag is set, and Python's
  own ``ConnectionError``/``TimeoutError``; never a client error (the status of what happened,
  ``effective_status``, is a 4xx other than 408 and 429),
  never an error code the contract lists in ``non_retryable_error_codes``, never a timeout when
  ``retry_on_timeout`` is off; anything else (a bug) fails at once;
- at most ``1 + max_retries`` attempts, and no retry once ``max_elapsed_seconds`` would be
  exceeded by waiting;
- delays: exponential (``base * multiplier ** (n - 1)``), linear or constant, capped at
  ``max_delay_seconds``, with ``+-jitter_factor`` random jitter; a ``retry_after_seconds``
  announced by the error (``Retry-After``) is a floor on the delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from enum import Enum

from omnibase_infra._core import ModelRetrySubcontract
from omnibase_infra.errors import InfraTimeoutError, InfraUnavailableError, RuntimeHostError
from omnibase_infra.resilience.classify import status_blames_dependency

__all__ = ["RetryPolicy"]


class RetryPolicy:
    """Retry decisions of one effect (immutable after construction)."""

    __slots__ = (
        "_base",
        "_jitter",
        "_max_delay",
        "_multiplier",
        "_non_retryable",
        "_random",
        "_retry_on_timeout",
        "_strategy",
        "max_attempts",
        "max_elapsed_seconds",
    )

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        base_delay_seconds: float = 1.0,
        backoff_strategy: str = "exponential",
        backoff_multiplier: float = 2.0,
        max_delay_seconds: float = 60.0,
        jitter_factor: float = 0.1,
        max_elapsed_seconds: float | None = None,
        retry_on_timeout: bool = True,
        non_retryable_error_codes: Iterable[str] = (),
        random_source: Callable[[], float] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if backoff_strategy not in ("exponential", "linear", "constant"):
            raise ValueError(f"unknown backoff strategy {backoff_strategy!r}")
        self.max_attempts = max_attempts
        self.max_elapsed_seconds = max_elapsed_seconds
        self._base = base_delay_seconds
        self._strategy = backoff_strategy
        self._multiplier = backoff_multiplier
        self._max_delay = max_delay_seconds
        self._jitter = jitter_factor
        self._retry_on_timeout = retry_on_timeout
        self._non_retryable = frozenset(code.lower() for code in non_retryable_error_codes)
        # Jitter only spreads retries apart; it needs no cryptographic randomness.
        self._random = random_source or random.random

    @classmethod
    def from_subcontract(
        cls,
        retry: ModelRetrySubcontract | None,
        *,
        max_elapsed_seconds: float | None = None,
        random_source: Callable[[], float] | None = None,
    ) -> RetryPolicy:
        """The policy a contract declares (``None``: a single attempt, never retried)."""
        if retry is None:
            return cls(max_attempts=1, max_elapsed_seconds=max_elapsed_seconds)
        return cls(
            max_attempts=1 + retry.max_retries,
            base_delay_seconds=retry.base_delay_seconds,
            backoff_strategy=retry.backoff_strategy,
            backoff_multiplier=retry.backoff_multiplier,
            max_delay_seconds=retry.max_delay_seconds,
            jitter_factor=retry.jitter_factor if retry.jitter_enabled else 0.0,
            max_elapsed_seconds=max_elapsed_seconds,
            retry_on_timeout=retry.retry_on_timeout,
            non_retryable_error_codes=retry.non_retryable_error_codes,
            random_source=random_source,
        )

    def is_retriable(self, error: BaseException) -> bool:
        """Whether trying again can help (see the module docstring for the rules)."""
        if isinstance(error, RuntimeHostError):
            if not error.retriable or not status_blames_dependency(error.effective_status):
                return False
            if isinstance(error, InfraTimeoutError) and not self._retry_on_timeout:
                return False
            code = error.error_code
            name = code.name.lower() if isinstance(code, Enum) else str(code or "").lower()
            return name not in self._non_retryable
        return isinstance(error, ConnectionError | TimeoutError)

    def backoff(self, failed_attempt: int) -> float:
        """The delay after attempt ``failed_attempt`` (1-based), jittered and capped."""
        if self._strategy == "exponential":
            delay = self._base * self._multiplier ** (failed_attempt - 1)
        elif self._strategy == "linear":
            delay = self._base * failed_attempt
        else:
            delay = self._base
        delay = min(delay, self._max_delay)
        if self._jitter:
            delay *= 1.0 + self._jitter * (2.0 * self._random() - 1.0)
        return max(delay, 0.0)

    def next_delay(self, failed_attempt: int, error: BaseException, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with ``error``."""
        if failed_attempt >= self.max_attempts or not self.is_retriable(error):
            return None
        delay = self.backoff(failed_attempt)
        if isinstance(error, InfraUnavailableError) and error.retry_after_seconds is not None:
            # The dependency said when to come back; coming back earlier only adds load.
            delay = max(delay, error.retry_after_seconds)
        budget = self.max_elapsed_seconds
        if budget is not None and elapsed + delay > budget:
            return None
        return delay
