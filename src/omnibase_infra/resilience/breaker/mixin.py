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

The rules (states, thresholds, probes, failure-rate window) are ``CircuitBreakerRules``, the one
rule set of the package; this mixin adds the clock, the lock, the ``InfraUnavailableError`` of
a refused call, logs and Prometheus metrics (on ``observability.metrics.REGISTRY``). Monitoring
reads ``_circuit_breaker_open``, ``_circuit_breaker_failures``, ``_circuit_breaker_open_until``
and ``_circuit_breaker_state`` (or ``_circuit_breaker_snapshot()``).

Every state change happens in a synchronous method (``_cb_admit``, ``_cb_on_success``,
``_cb_on_failure``, ``_cb_release``) with no ``await`` inside. The lock of the documented API
keeps a caller's check-then-act sequences from interleaving with other tasks; lock-free callers
(``AsyncCircuitBreaker``'s public methods, used by the effect executor) run on the event loop's
thread, where a method without an ``await`` cannot be interleaved either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import UUID

from prometheus_client import Counter, Gauge

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraUnavailableError
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)
from omnibase_infra.resilience.breaker.rules import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitBreakerRules,
)

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "Clock",
    "MixinAsyncCircuitBreaker",
    "TransitionHook",
    "export_breaker_state",
]

_log = get_logger(__name__)

Clock = Callable[[], float]
TransitionHook = Callable[[EnumCircuitBreakerState, EnumCircuitBreakerState, float], None]

_STATE_VALUE = {CLOSED: 0.0, HALF_OPEN: 1.0, OPEN: 2.0}

# ``node``: the node that owns the breaker ("" for none, and for the health monitor's), so two
# effects that guard the same dependency each with its own breaker are two series, not one.
_STATE_GAUGE = Gauge(
    "onex_circuit_breaker_state",
    "Circuit state by dependency and owning node: 0 closed, 1 half-open, 2 open.",
    ["dependency", "node"],
    registry=REGISTRY,
)
_TRANSITIONS = Counter(
    "onex_circuit_breaker_transitions",
    "Circuit state changes by dependency, owning node and the state entered.",
    ["dependency", "node", "state"],
    registry=REGISTRY,
)
_REJECTED = Counter(
    "onex_circuit_breaker_rejected_calls",
    "Calls rejected without reaching the dependency, by dependency and owning node.",
    ["dependency", "node"],
    registry=REGISTRY,
)
_FAILURES = Counter(
    "onex_circuit_breaker_recorded_failures",
    "Failures recorded by circuit breakers, by dependency and owning node.",
    ["dependency", "node"],
    registry=REGISTRY,
)


def export_breaker_state(dependency: str, state: EnumCircuitBreakerState) -> None:
    """Show a breaker kept outside this mixin (the health monitor's, one per dependency it
    probes) on ``onex_circuit_breaker_state`` (``node=""``), beside the mixin's own."""
    _STATE_GAUGE.labels(dependency=dependency, node="").set(_STATE_VALUE[state])


class MixinAsyncCircuitBreaker:
    """Circuit breaker state and the documented async API; mix into adapters."""

    _circuit_breaker_lock: asyncio.Lock
    _cb_rules: CircuitBreakerRules
    _cb_service_name: str
    _cb_node: str
    _cb_transport_type: EnumInfraTransportType
    _cb_clock: Clock
    _cb_on_transition: TransitionHook | None
    _cb_rejected: Counter
    _cb_failures_metric: Counter

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
        node: str = "",
        clock: Clock = time.monotonic,
        on_transition: TransitionHook | None = None,
    ) -> None:
        """Set up a CLOSED circuit and create ``_circuit_breaker_lock``.

        ``threshold`` consecutive failures open the circuit for ``reset_timeout`` seconds; then
        up to ``half_open_max_calls`` probes (default: ``success_threshold``) may pass, and
        ``success_threshold`` successes close it. With ``failure_rate_threshold``, the circuit
        also opens when at least ``minimum_requests`` calls of the last ``window_seconds``
        were seen in CLOSED and that share of them failed. ``node`` names the node that owns
        the breaker (a metrics label). ``clock`` (monotonic seconds) and
        ``on_transition(old, new, at)`` are seams for tests and monitoring.
        """
        self._cb_rules = CircuitBreakerRules(
            threshold=threshold,
            reset_timeout=reset_timeout,
            success_threshold=success_threshold,
            half_open_max_calls=half_open_max_calls,
            failure_rate_threshold=failure_rate_threshold,
            window_seconds=window_seconds,
            minimum_requests=minimum_requests,
        )
        self._circuit_breaker_lock = asyncio.Lock()
        self._cb_service_name = service_name
        self._cb_node = node
        self._cb_transport_type = transport_type
        self._cb_clock = clock
        self._cb_on_transition = on_transition
        # Label children are looked up once: ``.labels()`` costs a dict lookup under a lock.
        self._cb_rejected = _REJECTED.labels(dependency=service_name, node=node)
        self._cb_failures_metric = _FAILURES.labels(dependency=service_name, node=node)
        _STATE_GAUGE.labels(dependency=service_name, node=node).set(_STATE_VALUE[CLOSED])

    # -- documented monitoring attributes (read under the lock) --------------------------------

    @property
    def _circuit_breaker_state(self) -> EnumCircuitBreakerState:
        return self._cb_rules.state

    @property
    def _circuit_breaker_open(self) -> bool:
        return self._cb_rules.state is OPEN

    @property
    def _circuit_breaker_failures(self) -> int:
        return self._cb_rules.consecutive_failures

    @property
    def _circuit_breaker_open_until(self) -> float:
        open_until = self._cb_rules.open_until
        return 0.0 if open_until is None else open_until

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
        rules = self._cb_rules
        retry_after = None
        if rules.state is OPEN:
            retry_after = rules.refusing_for(self._cb_clock())
        return ModelCircuitBreakerSnapshot(
            service_name=self._cb_service_name,
            node=self._cb_node,
            state=rules.state,
            consecutive_failures=rules.consecutive_failures,
            failure_threshold=rules.threshold,
            reset_timeout_seconds=rules.reset_timeout,
            retry_after_seconds=retry_after,
            half_open_successes=rules.half_open_successes,
            success_threshold=rules.success_threshold,
        )

    # -- synchronous core (no await: atomic on the event loop) ---------------------------------

    def _cb_admit(self, operation: str, correlation_id: UUID | None) -> None:
        """Admit a call or raise; moves OPEN to HALF_OPEN once the reset timeout has passed."""
        rules = self._cb_rules
        before = rules.state
        if before is CLOSED:
            return
        now = self._cb_clock()
        retry_after = rules.admit(now)
        if retry_after is not None:
            self._cb_rejected.inc()
            raise self._cb_unavailable(operation, correlation_id, retry_after)
        if rules.state is not before:
            self._cb_changed(before, now, operation, correlation_id)

    def _cb_on_success(self) -> None:
        """A call succeeded."""
        rules = self._cb_rules
        before = rules.state
        if before is CLOSED:
            # A success never moves a CLOSED circuit, so there is no transition to publish;
            # the clock is read only when there is something to record. With no failure to
            # reset, the rules' whole work is the window's count: fed here, one call less.
            window = rules.window
            if rules.consecutive_failures:
                rules.on_success(self._cb_clock())
            elif window is not None:
                window.add_success(self._cb_clock())
            return
        now = self._cb_clock()
        rules.on_success(now)
        if rules.state is not before:
            self._cb_changed(before, now, "call", None)

    def _cb_on_failure(self, operation: str, correlation_id: UUID | None) -> None:
        """A call failed in a way that says the service is unhealthy."""
        self._cb_failures_metric.inc()
        rules = self._cb_rules
        before = rules.state
        now = self._cb_clock()
        rules.on_failure(now)
        if rules.state is not before:
            self._cb_changed(before, now, operation, correlation_id)

    def _cb_release(self) -> None:
        """A call ended without saying anything about the service (cancelled, client error)."""
        self._cb_rules.release()

    def _cb_changed(
        self,
        old: EnumCircuitBreakerState,
        now: float,
        operation: str,
        correlation_id: UUID | None,
    ) -> None:
        """Publish a state change the rules made: gauge, counter, log, hook."""
        rules = self._cb_rules
        new = rules.state
        labels = {"dependency": self._cb_service_name, "node": self._cb_node}
        _STATE_GAUGE.labels(**labels).set(_STATE_VALUE[new])
        _TRANSITIONS.labels(**labels, state=new.value).inc()
        if new is OPEN:
            _log.warning(
                "circuit breaker opened",
                service_name=self._cb_service_name,
                node=self._cb_node or None,
                operation=operation,
                failure_count=rules.consecutive_failures,
                open_until=rules.open_until,
                correlation_id=str(correlation_id) if correlation_id else None,
            )
        else:
            _log.info(
                "circuit breaker state changed",
                service_name=self._cb_service_name,
                node=self._cb_node or None,
                old_state=old.value,
                new_state=new.value,
            )
        if self._cb_on_transition is not None:
            self._cb_on_transition(old, new, now)

    def _cb_unavailable(
        self, operation: str, correlation_id: UUID | None, retry_after: float
    ) -> InfraUnavailableError:
        """The error a rejected call gets: which service, and when to try again."""
        state = self._cb_rules.state
        return InfraUnavailableError(
            f"circuit breaker is {state.value} for "
            f"{self._cb_service_name}: service temporarily unavailable",
            context=ModelInfraErrorContext(
                transport_type=self._cb_transport_type,
                operation=operation,
                target_name=self._cb_service_name,
                correlation_id=correlation_id,
            ),
            retry_after_seconds=round(max(retry_after, 0.0), 3),
            circuit_state=state.value,
            service_name=self._cb_service_name,
        )

    def _cb_require_lock(self) -> None:
        # The documented contract: every method is called with the lock held. Checking that it
        # is held at all catches the common mistake (forgetting ``async with``) cheaply.
        if not self._circuit_breaker_lock.locked():
            raise RuntimeError(
                "circuit breaker methods require the caller to hold _circuit_breaker_lock"
            )
