"""The circuit breaker as a pure function: (config, state, event) -> new state + decision.

The rules are ``resilience.CircuitBreakerRules``, the same object the runtime's breakers
(``MixinAsyncCircuitBreaker``, ``AsyncCircuitBreaker``, the effect executor) keep per
dependency: this function loads one from the state model, applies the event and writes the
state model back. No I/O, no clock: time comes with the event.
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
from omnibase_infra.resilience.breaker.failure_window import FailureWindow
from omnibase_infra.resilience.breaker.rules import CircuitBreakerRules

__all__ = ["circuit_breaker_transition"]

_Kind = EnumCircuitBreakerEventKind


def _load(
    config: ModelCircuitBreakerSubcontract, state: ModelCircuitBreakerState
) -> CircuitBreakerRules:
    """The rules of ``config`` holding ``state``."""
    rules = CircuitBreakerRules.from_subcontract(config)
    rules.state = state.state
    rules.consecutive_failures = state.consecutive_failures
    rules.open_until = state.open_until
    rules.half_open_in_flight = state.half_open_in_flight
    rules.half_open_successes = state.half_open_successes
    rules.half_open_last_admit = state.half_open_last_admit
    rules.window = FailureWindow.restore(
        float(config.window_size_seconds),
        state.window_bucket,
        state.window_successes,
        state.window_failures,
    )
    return rules


def _dump(rules: CircuitBreakerRules) -> ModelCircuitBreakerState:
    """The state model of ``rules`` (an empty window is carried as empty tuples)."""
    bucket, successes, failures = (0, (), ()) if rules.window is None else rules.window.export()
    empty = not any(successes) and not any(failures)
    return ModelCircuitBreakerState(
        state=rules.state,
        consecutive_failures=rules.consecutive_failures,
        open_until=rules.open_until,
        half_open_in_flight=rules.half_open_in_flight,
        half_open_successes=rules.half_open_successes,
        half_open_last_admit=rules.half_open_last_admit,
        window_bucket=bucket,
        window_successes=() if empty else successes,
        window_failures=() if empty else failures,
    )


def circuit_breaker_transition(
    data: ModelCircuitBreakerComputeInput,
) -> ModelCircuitBreakerDecision:
    """Apply one event to a breaker's state (pure: the input is not modified)."""
    rules = _load(data.config, data.state)
    before: EnumCircuitBreakerState = rules.state
    at = data.event.at
    kind = data.event.kind
    retry_after: float | None = None
    if kind is _Kind.REQUEST:
        retry_after = rules.admit(at)
    elif kind is _Kind.SUCCESS:
        rules.on_success(at)
    elif kind is _Kind.FAILURE:
        rules.on_failure(at)
    else:
        rules.release()
    if retry_after is not None:
        # A refusal changes nothing: the state goes back unchanged.
        return ModelCircuitBreakerDecision(
            state=data.state, allowed=False, retry_after_seconds=retry_after
        )
    return ModelCircuitBreakerDecision(
        state=_dump(rules),
        allowed=True,
        transition_from=before if rules.state is not before else None,
    )
