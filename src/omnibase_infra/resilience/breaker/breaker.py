"""``AsyncCircuitBreaker``: a standalone breaker with a public API.

``admit`` / ``on_success`` / ``on_failure`` / ``release`` (or ``record_outcome`` for an error)
are what the effect executor calls around each attempt; ``call`` wraps one awaitable. The rules
are ``CircuitBreakerRules``; metrics, logs and the refusal error come from the mixin. Share one
instance between everything that talks to the same dependency: the breaker is about the
dependency's health, not about one caller.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

from omnibase_infra._core import EnumCircuitBreakerState, ModelCircuitBreakerSubcontract
from omnibase_infra.correlation import current_correlation_id
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.resilience.breaker.mixin import (
    CLOSED,
    Clock,
    MixinAsyncCircuitBreaker,
    TransitionHook,
)
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)
from omnibase_infra.resilience.classify import is_dependency_failure

__all__ = ["AsyncCircuitBreaker"]


class AsyncCircuitBreaker(MixinAsyncCircuitBreaker):
    """A circuit breaker around one dependency; ``await breaker.call(fn, *args)``."""

    def __init__(
        self,
        service_name: str,
        transport_type: EnumInfraTransportType,
        *,
        threshold: int = 5,
        reset_timeout: float = 60.0,
        success_threshold: int = 1,
        half_open_max_calls: int | None = None,
        failure_rate_threshold: float | None = None,
        window_seconds: float = 120.0,
        minimum_requests: int = 20,
        ignore_exceptions: Iterable[str] = (),
        operation: str = "call",
        node: str = "",
        clock: Clock = time.monotonic,
        on_transition: TransitionHook | None = None,
    ) -> None:
        self._init_circuit_breaker(
            threshold,
            reset_timeout,
            service_name,
            transport_type,
            success_threshold=success_threshold,
            half_open_max_calls=half_open_max_calls,
            failure_rate_threshold=failure_rate_threshold,
            window_seconds=window_seconds,
            minimum_requests=minimum_requests,
            node=node,
            clock=clock,
            on_transition=on_transition,
        )
        self.operation = operation
        self._ignored = frozenset(ignore_exceptions)

    @classmethod
    def from_subcontract(
        cls,
        subcontract: ModelCircuitBreakerSubcontract,
        service_name: str,
        transport_type: EnumInfraTransportType,
        *,
        operation: str = "call",
        node: str = "",
        clock: Clock = time.monotonic,
        on_transition: TransitionHook | None = None,
    ) -> AsyncCircuitBreaker:
        """The breaker core's circuit-breaker subcontract declares.

        Consecutive failures, half-open limits, the failure-rate window and ignored exception
        names are honoured; slow-call detection is not implemented, so a subcontract that
        asks for it is refused rather than silently weakened.
        """
        if subcontract.slow_call_duration_threshold_ms is not None:
            raise ProtocolConfigurationError(
                "slow-call detection is not supported by this runtime's circuit breaker",
                field="circuit_breaker.slow_call_duration_threshold_ms",
            )
        return cls(
            service_name,
            transport_type,
            threshold=subcontract.failure_threshold,
            reset_timeout=float(subcontract.timeout_seconds),
            success_threshold=subcontract.success_threshold,
            half_open_max_calls=subcontract.half_open_max_calls,
            failure_rate_threshold=subcontract.failure_rate_threshold,
            window_seconds=float(subcontract.window_size_seconds),
            minimum_requests=subcontract.minimum_request_threshold,
            ignore_exceptions=subcontract.ignore_exceptions,
            operation=operation,
            node=node,
            clock=clock,
            on_transition=on_transition,
        )

    @property
    def service_name(self) -> str:
        """The dependency this breaker guards."""
        return self._cb_service_name

    @property
    def node(self) -> str:
        """The node that owns this breaker ("" for none)."""
        return self._cb_node

    @property
    def state(self) -> EnumCircuitBreakerState:
        """The current state (CLOSED, OPEN, HALF_OPEN)."""
        return self._cb_rules.state

    @property
    def consecutive_failures(self) -> int:
        """Failures recorded since the last success (or since the circuit closed)."""
        return self._cb_rules.consecutive_failures

    @property
    def reset_timeout(self) -> float:
        """Seconds the circuit stays OPEN before it lets a probe through."""
        return self._cb_rules.reset_timeout

    @property
    def refusing_for(self) -> float:
        """Seconds the circuit still refuses every call (0 once a call would be let through)."""
        return self._cb_rules.refusing_for(self._cb_clock())

    def snapshot(self) -> ModelCircuitBreakerSnapshot:
        """State, counters and thresholds, for health reports and dashboards."""
        return self._circuit_breaker_snapshot()

    # -- the public API around one call --------------------------------------------------------

    def admit(self, operation: str | None = None, correlation_id: UUID | None = None) -> None:
        """Let a call through, or raise ``InfraUnavailableError`` (with ``retry_after_seconds``)."""
        if self._cb_rules.state is CLOSED:
            return
        self._cb_admit(operation or self.operation, correlation_id or current_correlation_id())

    def on_success(self) -> None:
        """The admitted call succeeded."""
        self._cb_on_success()

    def on_failure(self, operation: str | None = None, correlation_id: UUID | None = None) -> None:
        """The admitted call failed in a way that says the dependency is unhealthy."""
        self._cb_on_failure(operation or self.operation, correlation_id or current_correlation_id())

    def release(self) -> None:
        """The admitted call ended without saying anything about the dependency."""
        self._cb_release()

    def counts_as_failure(self, error: BaseException) -> bool:
        """Whether ``error`` is recorded as a failure of the dependency."""
        return type(error).__name__ not in self._ignored and is_dependency_failure(error)

    def record_outcome(self, error: BaseException) -> None:
        """Record a failed call: a failure if it says the dependency is unhealthy, else neutral."""
        if self.counts_as_failure(error):
            self.on_failure()
        else:
            self.release()

    def unavailable(
        self, operation: str | None = None, correlation_id: UUID | None = None
    ) -> InfraUnavailableError:
        """The error of a refused call now: which service, and when to try again."""
        return self._cb_unavailable(
            operation or self.operation,
            correlation_id or current_correlation_id(),
            self.refusing_for,
        )

    async def call[**P, T](
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``fn`` if the circuit lets it through; raises InfraUnavailableError if not."""
        if self._cb_rules.state is not CLOSED:  # ``admit`` inlined: a CLOSED circuit lets all in
            self._cb_admit(self.operation, current_correlation_id())
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self.record_outcome(exc)
            raise
        self._cb_on_success()
        return result
