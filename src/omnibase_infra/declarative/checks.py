"""What ``validate`` checks of YAML-only nodes and of where results go.

A COMPUTE node subscribed to a topic whose result no orchestrator's workflow uses is refused,
and every YAML-only node is built as the runtime would build it (handlers left out), so a
workflow naming an unknown step or an FSM action without an intent topic is found before
``run``.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnibase_infra._core import EnumNodeKind, ModelContractOrchestrator
from omnibase_infra.declarative.builder import declarative_routes, is_declarative
from omnibase_infra.declarative.protocol_declared_node import ProtocolDeclaredNode
from omnibase_infra.declarative.workflow_step import WorkflowStep
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["compute_result_problems", "declarative_problems", "workflow_step_names"]

_STEP_KINDS = (EnumNodeKind.COMPUTE, EnumNodeKind.EFFECT)


class _NotCalled:
    """The handler of a step when a contract is only checked: never called."""

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Never called: checking builds routes and runs nothing."""
        raise NotImplementedError(context.node_name)


def declarative_problems(
    nodes: Sequence[ProtocolDeclaredNode],
) -> list[ProtocolConfigurationError]:
    """Why each YAML-only node could not be built by the runtime (one error per node)."""
    steps = {
        node.name: WorkflowStep(node.name, node.archetype, _NotCalled(), None)
        for node in nodes
        if node.archetype in _STEP_KINDS and node.routes
    }
    problems: list[ProtocolConfigurationError] = []
    for node in nodes:
        if not is_declarative(node):
            continue
        try:
            declarative_routes(node, steps, None)
        except ProtocolConfigurationError as exc:
            problems.append(exc)
    return problems


def workflow_step_names(nodes: Sequence[ProtocolDeclaredNode]) -> frozenset[str]:
    """Every node an orchestrator's workflow names as a step of its execution graph."""
    names: set[str] = set()
    for node in nodes:
        definition = node.definition
        if not isinstance(definition, ModelContractOrchestrator):
            continue
        workflow = definition.workflow_coordination.workflow_definition
        if workflow is not None:
            names.update(n.node_id for n in workflow.execution_graph.nodes)
    return frozenset(names)


def compute_result_problems(
    nodes: Sequence[ProtocolDeclaredNode],
) -> list[ProtocolConfigurationError]:
    """One error per COMPUTE node subscribed to a topic while no orchestrator's workflow uses
    it as a step: its result would be dropped without a word (a COMPUTE node publishes nothing;
    only orchestrators do)."""
    used = workflow_step_names(nodes)
    return [
        ProtocolConfigurationError(
            f"COMPUTE node {node.name} subscribes to {', '.join(node.subscribe_topics)} but its "
            "result goes nowhere: a COMPUTE node publishes nothing and no orchestrator's "
            "workflow has it as a step; name it in an orchestrator's "
            "workflow_definition.execution_graph (node_type: COMPUTE) or drop the subscription",
            file=str(node.path),
            field="event_bus.subscribe_topics",
        )
        for node in nodes
        if node.archetype is EnumNodeKind.COMPUTE
        and node.subscribe_topics
        and node.name not in used
    ]
