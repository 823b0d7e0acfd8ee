"""The circuit breaker as a pure function: (config, state, event) -> new state + decision.

Same rules as ``resilience.MixinAsyncCircuitBreaker`` (a test feeds both the same event
sequences): ``failure_threshold`` consecutive failures open the circuit for
``timeout_seconds``; the first request after that is a HALF_OPEN probe; at most
``half_open_max_calls`` probes are in flight (permits older than the reset timeout count as
abandoned); ``success_threshold`` successes close it and one failure opens it again. No I/O,
no clock: time comes with the event. In CLOSED, outcomes also feed the failure-rate window
(``window_size_seconds`` in ``WINDOW_BUCKETS`` buckets): at least
``minimum_request_threshold`` outcomes of which ``failure_rate_threshold`` failed open it too.
"""

from __future__ import annotations

from omnibase_infra._core import EnumCircuitBreakerState, ModelCircuitBreakerSubcontract
from omnibase_infra.nodes.node_circuit_breaker_compute.enum_circuit_breaker_event_kind import (
    EnumCircuitBreakerEventKind,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_compute_input import (
    ModelCircuitBreakerComputeInput,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_decision import (
    ModelCircuitBreakerDecision,
)
from omnibase_infra.nodes.node_circuit_breaker_compute.model_circuit_breaker_state import (
    ModelCircuitBreakerState,
)
from omnibase_infra.resilience.failure_window import WINDOW_BUCKETS, window_tripped

__all__ = ["circuit_breaker_transition"]

_CLOSED = EnumCircuitBreakerState.CLOSED
_OPEN = EnumCircuitBreakerState.OPEN
_HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN
_Kind = EnumCircuitBreakerEventKind


def _window_add(
    config: ModelCircuitBreakerSubcontract,
    state: ModelCircuitBreakerState,
    at: float,
    failed: bool,
) -> ModelCircuitBreakerState:
    """Count an outcome in the window (emptying the buckets that slid out of it)."""
    width = config.window_size_seconds / WINDOW_BUCKETS
    bucket = int(at // width)
    successes = list(state.window_successes or (0,) * WINDOW_BUCKETS)
    failures = list(state.window_failures or (0,) * WINDOW_BUCKETS)
    newest = state.window_bucket
    if bucket > newest:
        for step in range(1, min(bucket - newest, WINDOW_BUCKETS) + 1):
            successes[(newest + step) % WINDOW_BUCKETS] = 0
            failures[(newest + step) % WINDOW_BUCKETS] = 0
        newest = bucket
    index = max(bucket, newest) % WINDOW_BUCKETS
    if failed:
        failures[index] += 1
    else:
        successes[index] += 1
    return state.model_copy(
        update={
            "window_bucket": newest,
            "window_successes": tuple(successes),
            "window_failures": tuple(failures),
        }
    )


def _should_trip(
    config: ModelCircuitBreakerSubcontract, state: ModelCircuitBreakerState, at: float
) -> tuple[bool, ModelCircuitBreakerState]:
    """CLOSED after a failure: consecutive failures, or the failure rate of the window."""
    if state.consecutive_failures >= config.failure_threshold:
        return True, state
    state = _window_add(config, state, at, failed=True)
    tripped = window_tripped(
        sum(state.window_successes),
        sum(state.window_failures),
        minimum_requests=config.minimum_request_threshold,
        failure_rate=config.failure_rate_threshold,
    )
    return tripped, state


def _enter(
    state: ModelCircuitBreakerState,
    new: EnumCircuitBreakerState,
    at: float,
    config: ModelCircuitBreakerSubcontract,
) -> ModelCircuitBreakerState:
    """The state after a transition: half-open counters reset, OPEN timed from now."""
    return state.model_copy(
        update={
            "state": new,
            "open_until": at + config.timeout_seconds if new is _OPEN else None,
            "half_open_in_flight": 0,
            "half_open_successes": 0,
            "consecutive_failures": 0 if new is _CLOSED else state.consecutive_failures,
            "window_successes": (),
            "window_failures": (),
        }
    )


def _request(
    config: ModelCircuitBreakerSubcontract, state: ModelCircuitBreakerState, at: float
) -> ModelCircuitBreakerDecision:
    if state.state is _CLOSED:
        return ModelCircuitBreakerDecision(state=state, allowed=True)
    previous: EnumCircuitBreakerState | None = None
    in_flight = state.half_open_in_flight
    if state.state is _OPEN:
        open_until = state.open_until if state.open_until is not None else at
        if at < open_until:
            return ModelCircuitBreakerDecision(
                state=state, allowed=False, retry_after_seconds=open_until - at
            )
        previous = _OPEN
        state = _enter(state, _HALF_OPEN, at, config)
        in_flight = 0
    elif in_flight >= config.half_open_max_calls:
        last = state.half_open_last_admit if state.half_open_last_admit is not None else at
        waited = at - last
        if waited < config.timeout_seconds:
            return ModelCircuitBreakerDecision(
                state=state, allowed=False, retry_after_seconds=config.timeout_seconds - waited
            )
        in_flight = 0
    state = state.model_copy(
        update={"half_open_in_flight": in_flight + 1, "half_open_last_admit": at}
    )
    return ModelCircuitBreakerDecision(state=state, allowed=True, transition_from=previous)


def _outcome(
    config: ModelCircuitBreakerSubcontract,
    state: ModelCircuitBreakerState,
    kind: EnumCircuitBreakerEventKind,
    at: float,
) -> ModelCircuitBreakerDecision:
    before = state.state
    if kind is _Kind.RELEASE:
        if before is _HALF_OPEN:
            state = state.model_copy(
                update={"half_open_in_flight": max(0, state.half_open_in_flight - 1)}
            )
    elif kind is _Kind.SUCCESS:
        state = state.model_copy(update={"consecutive_failures": 0})
        if before is _CLOSED:
            state = _window_add(config, state, at, failed=False)
        elif before is _HALF_OPEN:
            successes = state.half_open_successes + 1
            state = state.model_copy(
                update={
                    "half_open_in_flight": max(0, state.half_open_in_flight - 1),
                    "half_open_successes": successes,
                }
            )
            if successes >= config.success_threshold:
                state = _enter(state, _CLOSED, at, config)
    else:
        state = state.model_copy(update={"consecutive_failures": state.consecutive_failures + 1})
        trip = before is _HALF_OPEN
        if before is _CLOSED:
            trip, state = _should_trip(config, state, at)
        if trip:
            state = _enter(state, _OPEN, at, config)
    changed = before if state.state is not before else None
    return ModelCircuitBreakerDecision(state=state, allowed=True, transition_from=changed)


def circuit_breaker_transition(
    data: ModelCircuitBreakerComputeInput,
) -> ModelCircuitBreakerDecision:
    """Apply one event to a breaker's state (pure)."""
    if data.event.kind is _Kind.REQUEST:
        return _request(data.config, data.state, data.event.at)
    return _outcome(data.config, data.state, data.event.kind, data.event.at)
