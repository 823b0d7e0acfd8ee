"""``MixinAsyncCircuitBreaker``: the platform's documented circuit breaker, with a fast path.

Documented API (callers hold ``self._circuit_breaker_lock`` around each call)::

    self._init_circuit_breaker(threshold=5, reset_timeout=60.0, service_name="vault.prod",
                               transport_type=EnumInfraTransportType.VAULT)
    async with self._circuit_breaker_lock:
        await self._check_circuit_breaker("read", correlation_id)   # raises when open
    try:
        result = await self._do_read()
    except Exception:
        async with self._circuit_breaker_lock:
            await self._record_circuit_failure("read", correlation_id)
        raise
    async with self._circuit_breaker_lock:
        await self._reset_circuit_breaker()

States: CLOSED (calls pass; ``threshold`` consecutive failures open it, and so does a failure
rate over a sliding window when configured), OPEN (calls are
rejected with ``InfraUnavailableError`` carrying ``retry_after_seconds`` until ``reset_timeout``
has passed), HALF_OPEN (at most ``half_open_max_calls`` probes pass; ``success_threshold``
successes close it, one failure opens it again). Monitoring reads ``_circuit_breaker_open``,
``_circuit_breaker_failures``, ``_circuit_breaker_open_until`` and ``_circuit_breaker_state``
(or ``_circuit_breaker_snapshot()``); Prometheus metrics are on ``observability.metrics.REGISTRY``.

Every state change happens in a synchronous method (``_cb_admit``, ``_cb_on_success``,
``_cb_on_failure``, ``_cb_release``) with no ``await`` inside. The lock of the documented API
keeps a caller's check-then-act sequences from interleaving with other tasks; the effect
executor instead calls the synchronous methods directly from the event loop's thread, where a
method without an ``await`` cannot be interleaved either, so it skips the lock and, while the
circuit is CLOSED with no failures counted, touches nothing but two attribute reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import UUID

from prometheus_client import Counter, Gauge

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.failure_window import FailureWindow, window_tripped
from omnibase_infra.resilience.model_circuit_breaker_snapshot import ModelCircuitBreakerSnapshot

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "Clock", "MixinAsyncCircuitBreaker", "TransitionHook"]

_log = get_logger(__name__)

Clock = Callable[[], float]
TransitionHook = Callable[[EnumCircuitBreakerState, EnumCircuitBreakerState, float], None]

# Module-level aliases: comparing with ``is`` against a global is the cheapest check there is.
CLOSED = EnumCircuitBreakerState.CLOSED
OPEN = EnumCircuitBreakerState.OPEN
HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN

_STATE_VALUE = {CLOSED: 0.0, HALF_OPEN: 1.0, OPEN: 2.0}

_STATE_GAUGE = Gauge(
    "onex_circuit_breaker_state",
    "Circuit state by service: 0 closed, 1 half-open, 2 open.",
    ["service"],
    registry=REGISTRY,
)
_TRANSITIONS = Counter(
    "onex_circuit_breaker_transitions",
    "Circuit state changes by service and the state entered.",
    ["service", "state"],
    registry=REGISTRY,
)
_REJECTED = Counter(
    "onex_circuit_breaker_rejected_calls",
    "Calls rejected without reaching the service, by service.",
    ["service"],
    registry=REGISTRY,
)
_FAILURES = Counter(
    "onex_circuit_breaker_recorded_failures",
    "Failures recorded by circuit breakers, by service.",
    ["service"],
    registry=REGISTRY,
)


class MixinAsyncCircuitBreaker:
    """Circuit breaker state and the documented async API; mix into adapters and executors."""

    _circuit_breaker_lock: asyncio.Lock
    _circuit_breaker_state: EnumCircuitBreakerState
    _circuit_breaker_open: bool
    _circuit_breaker_failures: int
    _circuit_breaker_open_until: float
    _cb_service_name: str
    _cb_transport_type: EnumInfraTransportType
    _cb_threshold: int
    _cb_reset_timeout: float
    _cb_success_threshold: int
    _cb_half_open_max_calls: int
    _cb_half_open_in_flight: int
    _cb_half_open_successes: int
    _cb_half_open_last_admit: float
    _cb_clock: Clock
    _cb_on_transition: TransitionHook | None
    _cb_rejected: Counter
    _cb_failures_metric: Counter
    _cb_window: FailureWindow | None
    _cb_failure_rate: float
    _cb_minimum_requests: int
    _cb_counts_successes: bool

    def _init_circuit_breaker(
        self,
        threshold: int,
        reset_timeout: float,
        service_name: str,
        transport_type: EnumInfraTransportType,
        *,
        success_threshold: int = 1,
        half_open_max_calls: int | None = None,
        failure_rate_threshold: float | None = None,
        window_seconds: float = 120.0,
        minimum_requests: int = 20,
        clock: Clock = time.monotonic,
        on_transition: TransitionHook | None = None,
    ) -> None:
        """Set up a CLOSED circuit and create ``_circuit_breaker_lock``.

        ``threshold`` consecutive failures open the circuit for ``reset_timeout`` seconds; then
        up to ``half_open_max_calls`` probes (default: ``success_threshold``) may pass, and
        ``success_threshold`` successes close it. With ``failure_rate_threshold``, the circuit
        also opens when at least ``minimum_requests`` calls of the last ``window_seconds``
        were seen in CLOSED and that share of them failed. ``clock`` (monotonic seconds) and
        ``on_transition(old, new, at)`` are seams for tests and monitoring.
        """
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
        self._circuit_breaker_lock = asyncio.Lock()
        self._circuit_breaker_state = CLOSED
        self._circuit_breaker_open = False
        self._circuit_breaker_failures = 0
        self._circuit_breaker_open_until = 0.0
        self._cb_service_name = service_name
        self._cb_transport_type = transport_type
        self._cb_threshold = threshold
        self._cb_reset_timeout = float(reset_timeout)
        self._cb_success_threshold = success_threshold
        self._cb_half_open_max_calls = max_calls
        self._cb_half_open_in_flight = 0
        self._cb_half_open_successes = 0
        self._cb_half_open_last_admit = 0.0
        self._cb_clock = clock
        self._cb_on_transition = on_transition
        self._cb_window = None if failure_rate_threshold is None else FailureWindow(window_seconds)
        self._cb_failure_rate = failure_rate_threshold or 1.0
        self._cb_minimum_requests = minimum_requests
        # Whether a success in CLOSED must be recorded at all; when not, the fast paths skip it.
        self._cb_counts_successes = self._cb_window is not None
        # Label children are looked up once: ``.labels()`` costs a dict lookup under a lock.
        self._cb_rejected = _REJECTED.labels(service=service_name)
        self._cb_failures_metric = _FAILURES.labels(service=service_name)
        _STATE_GAUGE.labels(service=service_name).set(_STATE_VALUE[CLOSED])

    # -- documented async API (caller holds _circuit_breaker_lock) -----------------------------

    async def _check_circuit_breaker(self, operation: str, correlation_id: UUID | None) -> None:
        """Let the call through, or raise ``InfraUnavailableError`` if the circuit rejects it."""
        self._cb_require_lock()
        self._cb_admit(operation, correlation_id)

    async def _record_circuit_failure(self, operation: str, correlation_id: UUID | None) -> None:
        """Count a failed call; opens the circuit at the threshold or on a failed probe."""
        self._cb_require_lock()
        self._cb_on_failure(operation, correlation_id)

    async def _reset_circuit_breaker(self) -> None:
        """Record a successful call: clears the failure count; in HALF_OPEN counts a success."""
        self._cb_require_lock()
        self._cb_on_success()

    def _circuit_breaker_snapshot(self) -> ModelCircuitBreakerSnapshot:
        """The breaker's state for health reports and dashboards."""
        now = self._cb_clock()
        retry_after = None
        if self._circuit_breaker_state is OPEN:
            retry_after = max(0.0, self._circuit_breaker_open_until - now)
        return ModelCircuitBreakerSnapshot(
            service_name=self._cb_service_name,
            state=self._circuit_breaker_state,
            consecutive_failures=self._circuit_breaker_failures,
            failure_threshold=self._cb_threshold,
            reset_timeout_seconds=self._cb_reset_timeout,
            retry_after_seconds=retry_after,
            half_open_successes=self._cb_half_open_successes,
            success_threshold=self._cb_success_threshold,
        )

    # -- synchronous core (no await: atomic on the event loop) ---------------------------------

    def _cb_admit(self, operation: str, correlation_id: UUID | None) -> None:
        """Admit a call or raise; moves OPEN to HALF_OPEN once the reset timeout has passed."""
        state = self._circuit_breaker_state
        if state is CLOSED:
            return
        now = self._cb_clock()
        if state is OPEN:
            if now < self._circuit_breaker_open_until:
                self._cb_reject(operation, correlation_id, self._circuit_breaker_open_until - now)
            self._cb_transition(HALF_OPEN, now)
        elif self._cb_half_open_in_flight >= self._cb_half_open_max_calls:
            # Every probe permit is taken. A caller of the documented API that neither reports
            # success nor failure would hold its permit forever; permits older than the reset
            # timeout are therefore considered abandoned and handed out again.
            waited = now - self._cb_half_open_last_admit
            if waited < self._cb_reset_timeout:
                self._cb_reject(operation, correlation_id, self._cb_reset_timeout - waited)
            self._cb_half_open_in_flight = 0
        self._cb_half_open_in_flight += 1
        self._cb_half_open_last_admit = now

    def _cb_on_success(self) -> None:
        """A call succeeded."""
        self._circuit_breaker_failures = 0
        state = self._circuit_breaker_state
        if state is CLOSED:
            if self._cb_window is not None:
                self._cb_window.add(self._cb_clock(), False)
        elif state is HALF_OPEN:
            self._cb_half_open_in_flight = max(0, self._cb_half_open_in_flight - 1)
            self._cb_half_open_successes += 1
            if self._cb_half_open_successes >= self._cb_success_threshold:
                self._cb_transition(CLOSED, self._cb_clock())

    def _cb_on_failure(self, operation: str, correlation_id: UUID | None) -> None:
        """A call failed in a way that says the service is unhealthy."""
        self._circuit_breaker_failures += 1
        self._cb_failures_metric.inc()
        state = self._circuit_breaker_state
        now = self._cb_clock()
        if state is HALF_OPEN or (state is CLOSED and self._cb_should_trip(now)):
            self._cb_transition(OPEN, now)
            _log.warning(
                "circuit breaker opened",
                service_name=self._cb_service_name,
                operation=operation,
                failure_count=self._circuit_breaker_failures,
                open_until=self._circuit_breaker_open_until,
                correlation_id=str(correlation_id) if correlation_id else None,
            )
        # In OPEN, a failure of a call admitted before the circuit opened is only counted:
        # the reset timeout runs from the moment the circuit opened, not from late failures.

    def _cb_should_trip(self, now: float) -> bool:
        """CLOSED after a failure: consecutive failures, or the failure rate of the window."""
        if self._circuit_breaker_failures >= self._cb_threshold:
            return True
        window = self._cb_window
        if window is None:
            return False
        window.add(now, True)
        successes, failures = window.counts(now)
        return window_tripped(
            successes,
            failures,
            minimum_requests=self._cb_minimum_requests,
            failure_rate=self._cb_failure_rate,
        )

    def _cb_release(self) -> None:
        """A call ended without saying anything about the service (cancelled, client error)."""
        if self._circuit_breaker_state is HALF_OPEN:
            self._cb_half_open_in_flight = max(0, self._cb_half_open_in_flight - 1)

    def _cb_transition(self, new: EnumCircuitBreakerState, now: float) -> None:
        old = self._circuit_breaker_state
        self._circuit_breaker_state = new
        self._circuit_breaker_open = new is OPEN
        self._cb_half_open_in_flight = 0
        self._cb_half_open_successes = 0
        if self._cb_window is not None:
            self._cb_window.clear()
        if new is OPEN:
            self._circuit_breaker_open_until = now + self._cb_reset_timeout
        elif new is CLOSED:
            self._circuit_breaker_failures = 0
        _STATE_GAUGE.labels(service=self._cb_service_name).set(_STATE_VALUE[new])
        _TRANSITIONS.labels(service=self._cb_service_name, state=new.value).inc()
        if new is not OPEN:
            _log.info(
                "circuit breaker state changed",
                service_name=self._cb_service_name,
                old_state=old.value,
                new_state=new.value,
            )
        if self._cb_on_transition is not None:
            self._cb_on_transition(old, new, now)

    def _cb_reject(self, operation: str, correlation_id: UUID | None, retry_after: float) -> None:
        self._cb_rejected.inc()
        raise self._cb_unavailable(operation, correlation_id, retry_after)

    def _cb_unavailable(
        self, operation: str, correlation_id: UUID | None, retry_after: float
    ) -> InfraUnavailableError:
        """The error a rejected call gets: which service, and when to try again."""
        return InfraUnavailableError(
            f"circuit breaker is {self._circuit_breaker_state.value} for "
            f"{self._cb_service_name}: service temporarily unavailable",
            context=ModelInfraErrorContext(
                transport_type=self._cb_transport_type,
                operation=operation,
                target_name=self._cb_service_name,
                correlation_id=correlation_id,
            ),
            retry_after_seconds=round(max(retry_after, 0.0), 3),
            circuit_state=self._circuit_breaker_state.value,
            service_name=self._cb_service_name,
        )

    def _cb_require_lock(self) -> None:
        # The documented contract: every method is called with the lock held. Checking that it
        # is held at all catches the common mistake (forgetting ``async with``) cheaply.
        if not self._circuit_breaker_lock.locked():
            raise RuntimeError(
                "circuit breaker methods require the caller to hold _circuit_breaker_lock"
            )
