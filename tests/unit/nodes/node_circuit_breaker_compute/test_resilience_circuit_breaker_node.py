"""Circuit-breaker COMPUTE node: contract, pure transitions through the one rule set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import omnibase_infra.nodes.node_circuit_breaker_compute as node_package
from omnibase_infra._core import (
    EnumCircuitBreakerState,
    ModelCircuitBreakerSubcontract,
    ModelComputeInput,
    ModelContractCompute,
    ModelONEXContainer,
)
from omnibase_infra.nodes.node_circuit_breaker_compute import (
    EnumCircuitBreakerEventKind,
    ModelCircuitBreakerComputeInput,
    ModelCircuitBreakerDecision,
    ModelCircuitBreakerEvent,
    ModelCircuitBreakerState,
    circuit_breaker_transition,
)

CLOSED = EnumCircuitBreakerState.CLOSED
OPEN = EnumCircuitBreakerState.OPEN
HALF_OPEN = EnumCircuitBreakerState.HALF_OPEN
Kind = EnumCircuitBreakerEventKind
_CONTRACT = Path(node_package.__file__).with_name("contract.yaml")


def _config(**fields: int) -> ModelCircuitBreakerSubcontract:
    values: dict[str, object] = {
        "version": {"major": 1, "minor": 0, "patch": 0},
        "failure_threshold": 3,
        "timeout_seconds": 10,
        "half_open_max_calls": 2,
        "success_threshold": 2,
        "minimum_request_threshold": 20,
    }
    values.update(fields)
    return ModelCircuitBreakerSubcontract.model_validate(values)


def _feed(
    config: ModelCircuitBreakerSubcontract,
    events: list[tuple[Kind, float]],
    state: ModelCircuitBreakerState | None = None,
) -> list[ModelCircuitBreakerDecision]:
    decisions = []
    state = state or ModelCircuitBreakerState()
    for kind, at in events:
        decision = circuit_breaker_transition(
            ModelCircuitBreakerComputeInput(
                config=config, state=state, event=ModelCircuitBreakerEvent(kind=kind, at=at)
            )
        )
        decisions.append(decision)
        state = decision.state
    return decisions


def test_contract_validates_with_core_compute_contract() -> None:
    """contract.yaml is a valid core COMPUTE contract naming the registered computation."""
    contract = ModelContractCompute.model_validate(yaml.safe_load(_CONTRACT.read_text()))
    assert contract.name == "node_circuit_breaker_compute"
    assert contract.algorithm is not None
    assert contract.algorithm.algorithm_type == "circuit_breaker_transition"
    assert contract.input_model.endswith("ModelCircuitBreakerComputeInput")
    assert contract.output_model.endswith("ModelCircuitBreakerDecision")


def test_threshold_failures_open_and_requests_are_refused_until_timeout() -> None:
    """Three failures open the circuit; a request before the timeout is refused with retry_after."""
    decisions = _feed(
        _config(),
        [(Kind.FAILURE, 0.0), (Kind.FAILURE, 1.0), (Kind.FAILURE, 2.0), (Kind.REQUEST, 5.0)],
    )
    assert decisions[1].state.state is CLOSED
    assert decisions[2].state.state is OPEN
    assert decisions[2].transition_from is CLOSED
    assert decisions[3].allowed is False
    assert decisions[3].retry_after_seconds == pytest.approx(7.0)


def test_probe_after_timeout_then_success_threshold_closes() -> None:
    """After the timeout a request becomes a HALF_OPEN probe; two successes close it."""
    events = [(Kind.FAILURE, 0.0)] * 3 + [
        (Kind.REQUEST, 10.0),
        (Kind.SUCCESS, 10.1),
        (Kind.REQUEST, 10.2),
        (Kind.SUCCESS, 10.3),
    ]
    decisions = _feed(_config(), events)
    assert decisions[3].allowed is True
    assert decisions[3].transition_from is OPEN
    assert decisions[3].state.state is HALF_OPEN
    assert decisions[4].state.state is HALF_OPEN
    assert decisions[6].state.state is CLOSED
    assert decisions[6].transition_from is HALF_OPEN
    assert decisions[6].state.consecutive_failures == 0


def test_failed_probe_reopens_and_limit_of_concurrent_probes() -> None:
    """Only half_open_max_calls probes are admitted at once; a failed probe reopens."""
    events = [(Kind.FAILURE, 0.0)] * 3 + [
        (Kind.REQUEST, 10.0),
        (Kind.REQUEST, 10.0),
        (Kind.REQUEST, 10.0),
        (Kind.FAILURE, 11.0),
    ]
    decisions = _feed(_config(), events)
    assert [d.allowed for d in decisions[3:6]] == [True, True, False]
    assert decisions[6].state.state is OPEN
    assert decisions[6].state.open_until == pytest.approx(21.0)


def test_transition_is_pure() -> None:
    """The same input always gives the same output and the input is not modified."""
    data = ModelCircuitBreakerComputeInput(
        config=_config(failure_threshold=1),
        event=ModelCircuitBreakerEvent(kind=Kind.FAILURE, at=3.0),
    )
    before = data.model_dump()
    assert circuit_breaker_transition(data) == circuit_breaker_transition(data)
    assert data.model_dump() == before


def test_state_round_trips_through_the_rules() -> None:
    """A state carried between events keeps every counter, including the failure window."""
    config = _config(failure_threshold=5, minimum_request_threshold=100)
    decisions = _feed(
        config,
        [(Kind.SUCCESS, 1.0), (Kind.FAILURE, 2.0), (Kind.FAILURE, 30.0), (Kind.SUCCESS, 31.0)],
    )
    state = decisions[-1].state
    assert state.consecutive_failures == 0
    assert sum(state.window_successes) == 2
    assert sum(state.window_failures) == 2
    again = _feed(config, [(Kind.FAILURE, 32.0)], state)[0].state
    assert again.consecutive_failures == 1
    assert sum(again.window_failures) == 3


async def test_node_processes_through_core_compute_pipeline() -> None:
    """The node, run by core's NodeCompute.process, returns the transition's decision."""
    from omnibase_infra.nodes.node_circuit_breaker_compute.node import (
        COMPUTATION_TYPE,
        NodeCircuitBreakerCompute,
    )

    node = NodeCircuitBreakerCompute(ModelONEXContainer())
    data = ModelCircuitBreakerComputeInput(
        config=_config(failure_threshold=1),
        event=ModelCircuitBreakerEvent(kind=Kind.FAILURE, at=1.0),
    )
    output = await node.process(
        ModelComputeInput(data=data, computation_type=COMPUTATION_TYPE, cache_enabled=False)
    )
    assert isinstance(output.result, ModelCircuitBreakerDecision)
    assert output.result.state.state is OPEN
    assert output.result == circuit_breaker_transition(data)


def test_failure_rate_window_opens_the_circuit() -> None:
    """Over half of twenty-one requests failing within the window opens it, although no two
    failures were consecutive."""
    events = [(Kind.SUCCESS if i % 2 else Kind.FAILURE, float(i)) for i in range(21)]
    decisions = _feed(_config(), events)
    assert all(d.state.state is CLOSED for d in decisions[:-1])
    assert decisions[-1].state.state is OPEN
    assert decisions[-1].state.consecutive_failures == 1
