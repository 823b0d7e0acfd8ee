"""An ORCHESTRATOR declared by its workflow alone, run through the dispatch engine: steps by
node name with results handed on, events as declared, failures as declared, and a contract
that does not add up refused at build with file, field and reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from declarative_unit_support import Harness, V, contract, payloads
from pydantic import BaseModel, ConfigDict

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.declarative import WorkflowStep, declarative_routes
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.event_bus.inmemory import EventBusInmemory

CMD = "onex.cmd.calc.add.v1"
DONE = "onex.evt.calc.added.v1"
FAILED = "onex.evt.calc.add-failed.v1"


class ModelAdd(BaseModel):
    """The command: two numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    a: int
    b: int


class ModelSum(BaseModel):
    """A step's result: a number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    total: int


class _Add:
    """COMPUTE: a + b."""

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        add = context.payload
        assert isinstance(add, ModelAdd)
        return ModelNodeOutput(result=ModelSum(total=add.a + add.b))


class _Store:
    """EFFECT stand-in: records the sum it gets, doubled as its result, or raises."""

    def __init__(self, error: Exception | None = None, publishes: bool = False) -> None:
        self.seen: list[ModelSum] = []
        self._error = error
        self._publishes = publishes

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        total = context.payload
        assert isinstance(total, ModelSum)
        self.seen.append(total)
        if self._error is not None:
            raise self._error
        doubled = ModelSum(total=total.total * 2)
        events = (ModelOutgoingMessage(topic=DONE, payload=doubled),) if self._publishes else ()
        return ModelNodeOutput(result=doubled, events=events)


def _orchestrator(route: str | None = None, graph_store_type: str = "EFFECT") -> str:
    rules = (
        route
        or f"""
          steps: [node_add_compute, node_store_effect]
          publish:
            - {{topic: {DONE}, from_step: node_add_compute}}
            - {{topic: {DONE}}}
          on_failure: {FAILED}"""
    )
    return f"""
name: node_calc_orchestrator
node_type: ORCHESTRATOR_GENERIC
contract_version: {V}
description: Adds and stores.
input_model: omnibase_infra.x.ModelIn
output_model: omnibase_infra.x.ModelOut
performance: {{single_operation_max_ms: 100}}
event_bus:
  version: {V}
  subscribe_topics: [{CMD}]
  publish_topics: [{DONE}, {FAILED}]
workflow_coordination:
  workflow_definition:
    workflow_metadata: {{workflow_name: calc}}
    execution_graph:
      nodes:
        - {{node_id: node_add_compute, node_type: COMPUTE}}
        - node_id: node_store_effect
          node_type: {graph_store_type}
          depends_on: [node_add_compute]
    coordination_rules:
      on_event:
        ModelAdd:{rules}
"""


def _steps(store: _Store) -> dict[str, WorkflowStep]:
    return {
        "node_add_compute": WorkflowStep(
            "node_add_compute", EnumNodeKind.COMPUTE, _Add(), ModelAdd
        ),
        "node_store_effect": WorkflowStep(
            "node_store_effect", EnumNodeKind.EFFECT, store, ModelSum
        ),
    }


@pytest.fixture
async def bus() -> AsyncIterator[EventBusInmemory]:
    instance = EventBusInmemory(partitions=2)
    await instance.start()
    yield instance
    await instance.close()


async def _harness(
    bus: EventBusInmemory, tmp_path: Path, store: _Store, text: str | None = None
) -> Harness:
    node = contract(tmp_path, text or _orchestrator())
    harness = Harness(bus, declarative_routes(node, _steps(store), ModelAdd))
    await harness.engine.start()
    return harness


async def test_steps_hand_their_results_on_and_the_declared_events_are_published(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """The compute's sum is the effect's input; the compute's result and (``from_step``
    absent) the last step's result are published, keyed like the command."""
    store = _Store()
    harness = await _harness(bus, tmp_path, store)
    done = await harness.watch(DONE)
    await harness.send(CMD, ModelAdd(a=2, b=3), "k1", "ModelAdd")
    await harness.settle()
    assert store.seen == [ModelSum(total=5)]
    assert payloads(done) == [{"total": 5}, {"total": 10}]
    assert {m.key for m in done} == {b"k1"}
    await harness.engine.stop()


async def test_a_failing_step_publishes_the_declared_failure_event(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """The effect raises: only the step-failed event is published, naming the step, its node
    type and the error type, with the reason sanitised."""
    store = _Store(InfraUnavailableError("target down password=hunter2"))
    harness = await _harness(bus, tmp_path, store)
    done, failed = await harness.watch(DONE), await harness.watch(FAILED)
    await harness.send(CMD, ModelAdd(a=1, b=1), "k2", "ModelAdd")
    await harness.settle()
    assert done == []
    [event] = payloads(failed)
    assert (event["workflow"], event["step"], event["node_type"], event["error_type"]) == (
        "calc",
        "node_store_effect",
        "effect",
        "InfraUnavailableError",
    )
    assert "hunter2" not in str(event["reason"])
    await harness.engine.stop()


async def test_without_on_failure_a_failing_step_fails_the_message(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """No ``on_failure``: the step's error goes to the runtime's failure policy (dead letter)."""
    route = f"""
          steps: [node_add_compute, node_store_effect]
          publish: [{{topic: {DONE}}}]"""
    store = _Store(InfraUnavailableError("down"))
    harness = await _harness(bus, tmp_path, store, _orchestrator(route))
    dead = await harness.watch_dlq(CMD)
    await harness.send(CMD, ModelAdd(a=1, b=2), "k3", "ModelAdd")
    await harness.settle()
    assert len(dead) == 1
    await harness.engine.stop()


async def test_a_step_that_publishes_itself_is_a_failure(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """Only orchestrators publish: a step returning events fails its step (the failure event)."""
    harness = await _harness(bus, tmp_path, _Store(publishes=True))
    failed = await harness.watch(FAILED)
    await harness.send(CMD, ModelAdd(a=1, b=2), "k4", "ModelAdd")
    await harness.settle()
    assert [p["error_type"] for p in payloads(failed)] == ["WorkflowStepError"]
    await harness.engine.stop()


@pytest.mark.parametrize(
    ("route", "graph_type", "field", "reason"),
    [
        (
            "\n          steps: [node_nope]",
            "EFFECT",
            "steps.0",
            "not a node of the workflow's execution_graph",
        ),
        (
            "\n          steps: [node_store_effect, node_add_compute]",
            "EFFECT",
            "steps.0",
            "depends on node_add_compute, not run before it",
        ),
        (
            "\n          steps: [node_add_compute, node_store_effect]",
            "COMPUTE",
            "steps.1",
            "declared COMPUTE in the execution_graph but the loaded node is EFFECT",
        ),
        (
            "\n          steps: [node_add_compute]"
            "\n          publish: [{topic: onex.evt.calc.x.v1}]",
            "EFFECT",
            "publish.0.topic",
            "event_bus.publish_topics does not declare",
        ),
        (
            "\n          steps: [node_add_compute]\n          on_failure: onex.evt.calc.x.v1",
            "EFFECT",
            "on_failure",
            "not in event_bus.publish_topics",
        ),
        ("\n          steps: []", "EFFECT", "steps", "at least 1"),
    ],
)
def test_a_workflow_that_does_not_add_up_is_refused(
    tmp_path: Path, route: str, graph_type: str, field: str, reason: str
) -> None:
    """Unknown step, step before its dependency, graph type not the node's, undeclared publish
    or failure topic, no steps: refused naming the file, the field and the reason."""
    node = contract(tmp_path, _orchestrator(route, graph_type))
    with pytest.raises(ProtocolConfigurationError) as caught:
        declarative_routes(node, _steps(_Store()), None)
    prefix = "workflow_coordination.workflow_definition.coordination_rules.on_event.ModelAdd"
    assert caught.value.file == str(node.path)
    assert caught.value.field == f"{prefix}.{field}"
    assert reason in caught.value.reason


def test_a_step_that_is_not_a_loaded_compute_or_effect_is_refused(tmp_path: Path) -> None:
    """A step naming a graph node that no loaded COMPUTE/EFFECT node with a handler answers to
    (a reducer, or a node not loaded) is refused, saying what a workflow calls."""
    node = contract(tmp_path, _orchestrator())
    with pytest.raises(ProtocolConfigurationError, match="not a loaded COMPUTE or EFFECT"):
        declarative_routes(node, {}, None)
