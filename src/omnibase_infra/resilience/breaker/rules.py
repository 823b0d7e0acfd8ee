"""``CircuitBreakerRules``: the one circuit-breaker rule set of the package.

Every breaker here applies these rules: ``MixinAsyncCircuitBreaker`` (and so
``AsyncCircuitBreaker`` and the effect executor) keeps one instance per dependency, and the pure
circuit-breaker COMPUTE node loads one from its state model for each event.

The rules: CLOSED lets calls pass; ``threshold`` consecutive failures open the circuit, and so
does a failure rate over a sliding window when configured (at least ``minimum_requests``
outcomes of the last ``window_seconds``, of which ``failure_rate_threshold`` failed). OPEN
refuses every call until ``reset_timeout`` seconds have passed; the next request is then a
HALF_OPEN probe. HALF_OPEN admits at most ``half_open_max_calls`` probes at once (a permit older
than the reset timeout counts as abandoned); ``success_threshold`` successes close the circuit,
one failure opens it again. A release (cancelled call, client error) says nothing about the
service and only frees a probe permit.

No I/O, no clock, no metrics: time comes with each call (seconds on a monotonic clock), and the
caller sees a transition by comparing ``state`` before and after.
"""

from __future__ import annotations

from omnibase_infra._core import EnumCircuitBreakerState, ModelCircuitBreakerSubcontract
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience.breaker.failure_window import FailureWindow, window_tripped

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "CircuitBreakerRules"]

# Module-level aliases: comparing with ``is`` against a global is the cheapest check there is.
CLOSED = EnumCircuitBreakerState.CLOSED
OPEN = EnumCircuitBreakerState.OPEN
HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN


class CircuitBreakerRules:
    """The state of one breaker and the rules that move it; read the attributes, call the
    methods, never assign the attributes from outside."""

    __slots__ = (
        "consecutive_failures",
        "failure_rate_threshold",
        "half_open_in_flight",
        "half_open_last_admit",
        "half_open_max_calls",
        "half_open_successes",
        "minimum_requests",
        "open_until",
        "reset_timeout",
        "state",
        "success_threshold",
        "threshold",
        "window",
    )

    def __init__(
        self,
        *,
        threshold: int,
        reset_timeout: float,
        success_threshold: int = 1,
        half_open_max_calls: int | None = None,
        failure_rate_threshold: float | None = None,
        window_seconds: float = 120.0,
        minimum_requests: int = 20,
    ) -> None:
        max_calls = success_threshold if half_open_max_calls is None else half_open_max_calls
        if threshold < 1 or reset_timeout <= 0 or success_threshold < 1:
            raise ProtocolConfigurationError(
                "circuit breaker needs threshold >= 1, reset_timeout > 0, success_threshold >= 1",
                field="circuit_breaker",
            )
        if max_calls < success_threshold:
            raise ProtocolConfigurationError(
                "half_open_max_calls must be >= success_threshold (else it could never close)",
                field="circuit_breaker.half_open_max_calls",
            )
        self.threshold = threshold
        self.reset_timeout = float(reset_timeout)
        self.success_threshold = success_threshold
        self.half_open_max_calls = max_calls
        self.failure_rate_threshold = failure_rate_threshold or 1.0
        self.minimum_requests = minimum_requests
        self.window: FailureWindow | None = (
            None if failure_rate_threshold is None else FailureWindow(window_seconds)
        )
        self.state = CLOSED
        self.consecutive_failures = 0
        self.open_until: float | None = None
        self.half_open_in_flight = 0
        self.half_open_successes = 0
        self.half_open_last_admit: float | None = None

    @classmethod
    def from_subcontract(cls, subcontract: ModelCircuitBreakerSubcontract) -> CircuitBreakerRules:
        """The rules core's circuit-breaker subcontract declares (a CLOSED circuit)."""
        return cls(
            threshold=subcontract.failure_threshold,
            reset_timeout=float(subcontract.timeout_seconds),
            success_threshold=subcontract.success_threshold,
            half_open_max_calls=subcontract.half_open_max_calls,
            failure_rate_threshold=subcontract.failure_rate_threshold,
            window_seconds=float(subcontract.window_size_seconds),
            minimum_requests=subcontract.minimum_request_threshold,
        )

    def admit(self, now: float) -> float | None:
        """Admit a call (None) or refuse it (seconds until one may pass).

        Moves OPEN to HALF_OPEN once the reset timeout has passed; in HALF_OPEN takes a probe
        permit.
        """
        state = self.state
        if state is CLOSED:
            return None
        if state is OPEN:
            open_until = now if self.open_until is None else self.open_until
            if now < open_until:
                return open_until - now
            self._enter(HALF_OPEN, now)
        elif self.half_open_in_flight >= self.half_open_max_calls:
            # Every probe permit is taken. A caller that neither reports success nor failure
            # would hold its permit forever; permits older than the reset timeout are
            # therefore considered abandoned and handed out again.
            last = self.half_open_last_admit
            waited = 0.0 if last is None else now - last
            if waited < self.reset_timeout:
                return self.reset_timeout - waited
            self.half_open_in_flight = 0
        self.half_open_in_flight += 1
        self.half_open_last_admit = now
        return None

    def on_success(self, now: float) -> None:
        """An admitted call succeeded."""
        self.consecutive_failures = 0
        state = self.state
        if state is CLOSED:
            if self.window is not None:
                self.window.add_success(now)
        elif state is HALF_OPEN:
            self.half_open_in_flight = max(0, self.half_open_in_flight - 1)
            self.half_open_successes += 1
            if self.half_open_successes >= self.success_threshold:
                self._enter(CLOSED, now)

    def on_failure(self, now: float) -> None:
        """An admitted call failed in a way that says the service is unhealthy."""
        self.consecutive_failures += 1
        state = self.state
        if state is HALF_OPEN or (state is CLOSED and self._should_trip(now)):
            self._enter(OPEN, now)
        # In OPEN, a failure of a call admitted before the circuit opened is only counted:
        # the reset timeout runs from the moment the circuit opened, not from late failures.

    def release(self) -> None:
        """An admitted call ended without saying anything about the service."""
        if self.state is HALF_OPEN:
            self.half_open_in_flight = max(0, self.half_open_in_flight - 1)

    def refusing_for(self, now: float) -> float:
        """Seconds the circuit still refuses every call (0 once a call would be let through)."""
        if self.state is not OPEN or self.open_until is None:
            return 0.0
        return max(0.0, self.open_until - now)

    def _should_trip(self, now: float) -> bool:
        """CLOSED after a failure: consecutive failures, or the failure rate of the window."""
        if self.consecutive_failures >= self.threshold:
            return True
        window = self.window
        if window is None:
            return False
        window.add_failure(now)
        successes, failures = window.counts(now)
        return window_tripped(
            successes,
            failures,
            minimum_requests=self.minimum_requests,
            failure_rate=self.failure_rate_threshold,
        )

    def _enter(self, new: EnumCircuitBreakerState, now: float) -> None:
        """Change state: probe counters and window reset, OPEN timed from now."""
        self.state = new
        self.half_open_in_flight = 0
        self.half_open_successes = 0
        self.open_until = now + self.reset_timeout if new is OPEN else None
        if new is CLOSED:
            self.consecutive_failures = 0
        if self.window is not None:
            self.window.clear()
