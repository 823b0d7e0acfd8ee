"""Routes of a YAML-only node: its contract checked against the loaded nodes, its handler built.

A REDUCER or ORCHESTRATOR contract that subscribes to topics and declares no
``handler_routing`` is declarative: the reducer runs its ``state_machine`` with its
``fsm_binding``, the orchestrator its ``workflow_definition`` with the ``coordination_rules``
(``ModelWorkflowRules``). Every inconsistency is refused at start, naming file, field and reason:
an action with no intent topic, a topic the contract does not declare, a step that is not a
loaded COMPUTE or EFFECT node, a step run before the steps it depends on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel

from omnibase_infra._core import (
    EnumNodeKind,
    ModelContractOrchestrator,
    ModelContractReducer,
    ModelFSMSubcontract,
)
from omnibase_infra.declarative.model_fsm_binding import FSM_BINDING_SECTION, ModelFsmBinding
from omnibase_infra.declarative.model_workflow_rules import (
    RULES_FIELD,
    ModelWorkflowRoute,
    ModelWorkflowRules,
)
from omnibase_infra.declarative.orchestrator import (
    CompiledRoute,
    CompiledStep,
    HandlerDeclarativeOrchestrator,
)
from omnibase_infra.declarative.protocol_declared_node import ProtocolDeclaredNode
from omnibase_infra.declarative.reducer import HandlerDeclarativeReducer
from omnibase_infra.declarative.workflow_step import WorkflowStep
from omnibase_infra.dispatch.route import DispatchRoute
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.fsm.compiled_fsm import CompiledFSM

__all__ = ["declarative_routes", "is_declarative"]

_DECLARATIVE = (EnumNodeKind.REDUCER, EnumNodeKind.ORCHESTRATOR)
_STEP_KINDS = (EnumNodeKind.COMPUTE, EnumNodeKind.EFFECT)


def is_declarative(node: ProtocolDeclaredNode) -> bool:
    """Whether the runtime runs the node from its contract alone (no handler code)."""
    return node.archetype in _DECLARATIVE and not node.routes and bool(node.subscribe_topics)


def declarative_routes(
    node: ProtocolDeclaredNode,
    steps: Mapping[str, WorkflowStep],
    input_model: type[BaseModel] | None,
) -> list[DispatchRoute]:
    """The node's routes with its declarative handler; ``steps`` are the callable nodes by
    name, ``input_model`` the contract's loaded ``input_model`` (None when not loadable)."""
    if node.archetype is EnumNodeKind.REDUCER:
        return _reducer_routes(node, input_model)
    return _orchestrator_routes(node, steps, input_model)


def _reducer_routes(
    node: ProtocolDeclaredNode, input_model: type[BaseModel] | None
) -> list[DispatchRoute]:
    file = str(node.path)
    definition = node.definition
    fsm = definition.state_machine if isinstance(definition, ModelContractReducer) else None
    if fsm is None:
        raise ProtocolConfigurationError(
            "a REDUCER without handler_routing is run by its state_machine, and it declares none",
            file=file,
            field="state_machine",
        )
    try:
        compiled = CompiledFSM(fsm)
    except ProtocolConfigurationError as exc:
        raise ProtocolConfigurationError(exc.reason, file=file, field=exc.field) from None
    binding = node.fsm_binding or ModelFsmBinding()
    _check_intents(node, fsm, binding)
    handler = HandlerDeclarativeReducer(node.name, compiled, binding)
    # One payload shape when the trigger is a field: then input_model describes every payload.
    typed = input_model if binding.trigger is not None else None
    return [
        DispatchRoute(
            node_name=node.name,
            archetype=node.archetype,
            topic=topic,
            handler=handler,
            input_model=typed,
            publish_topics=frozenset(node.publish_topics),
        )
        for topic in node.subscribe_topics
    ]


def _check_intents(
    node: ProtocolDeclaredNode, fsm: ModelFSMSubcontract, binding: ModelFsmBinding
) -> None:
    """Every action of the FSM has an intent topic, and each such topic is declared."""
    file = str(node.path)
    actions: dict[str, str] = {}
    for state in fsm.states:
        for action in (*state.entry_actions, *state.exit_actions):
            actions.setdefault(action, f"state {state.state_name!r}")
    for transition in fsm.transitions:
        for transition_action in transition.actions:
            actions.setdefault(
                transition_action.action_name, f"transition {transition.transition_name!r}"
            )
    for action, where in actions.items():
        if action not in binding.intents:
            raise ProtocolConfigurationError(
                f"action {action!r} of {where} has no intent topic; a reducer run by its FSM "
                "emits each action as an intent: map it in fsm_binding.intents",
                file=file,
                field=f"{FSM_BINDING_SECTION}.intents",
            )
    for action, topic in binding.intents.items():
        if topic not in node.publish_topics:
            raise ProtocolConfigurationError(
                f"intent topic {topic} of action {action!r} is not in event_bus.publish_topics",
                file=file,
                field=f"{FSM_BINDING_SECTION}.intents.{action}",
            )


def _orchestrator_routes(
    node: ProtocolDeclaredNode,
    steps: Mapping[str, WorkflowStep],
    input_model: type[BaseModel] | None,
) -> list[DispatchRoute]:
    file = str(node.path)
    definition = node.definition
    workflow = (
        definition.workflow_coordination.workflow_definition
        if isinstance(definition, ModelContractOrchestrator)
        else None
    )
    if workflow is None:
        raise ProtocolConfigurationError(
            "an ORCHESTRATOR without handler_routing is run by its workflow, and it declares none",
            file=file,
            field="workflow_coordination.workflow_definition",
        )
    rules = ModelWorkflowRules.from_rules(workflow.coordination_rules, file=file)
    graph = {n.node_id: n for n in workflow.execution_graph.nodes}
    compiled = {
        payload_type: _compile_route(node, payload_type, route, graph, steps)
        for payload_type, route in rules.on_event.items()
    }
    handler = HandlerDeclarativeOrchestrator(
        node.name, workflow.workflow_metadata.workflow_name, compiled
    )
    return [
        DispatchRoute(
            node_name=node.name,
            archetype=node.archetype,
            topic=topic,
            handler=handler,
            payload_type=payload_type,
            input_model=(
                input_model
                if input_model is not None and input_model.__name__ == payload_type
                else None
            ),
            publish_topics=frozenset(node.publish_topics),
        )
        for topic in node.subscribe_topics
        for payload_type in rules.on_event
    ]


class _GraphNode(Protocol):
    """What a workflow's execution-graph node gives (core's ``ModelContractWorkflowNode``)."""

    @property
    def node_type(self) -> str: ...

    @property
    def depends_on(self) -> list[str]: ...


def _compile_route(
    node: ProtocolDeclaredNode,
    payload_type: str,
    route: ModelWorkflowRoute,
    graph: Mapping[str, _GraphNode],
    steps: Mapping[str, WorkflowStep],
) -> CompiledRoute:
    file = str(node.path)
    where = f"{RULES_FIELD}.on_event.{payload_type}"
    compiled: list[CompiledStep] = []
    for index, name in enumerate(route.steps):
        field = f"{where}.steps.{index}"
        declared = graph.get(name)
        callable_node = steps.get(name)
        reason = None
        if declared is None:
            reason = f"step {name} is not a node of the workflow's execution_graph"
        elif callable_node is None:
            reason = (
                f"step {name} is not a loaded COMPUTE or EFFECT node with a handler (a "
                "workflow calls those; a REDUCER takes the orchestrator's events on its topics)"
            )
        elif not _same_kind(declared.node_type, callable_node.archetype):
            reason = (
                f"step {name} is declared {declared.node_type} in the execution_graph but the "
                f"loaded node is {callable_node.archetype.name}"
            )
        else:
            missing = [d for d in declared.depends_on if d not in {s.name for s in compiled}]
            if missing:
                reason = f"step {name} depends on {', '.join(missing)}, not run before it"
        if reason is not None or declared is None or callable_node is None:
            raise ProtocolConfigurationError(reason or "", file=file, field=field)
        compiled.append(CompiledStep(name, callable_node, tuple(declared.depends_on)))
    publish: list[tuple[str, str]] = []
    for index, event in enumerate(route.publish):
        field = f"{where}.publish.{index}"
        source = event.from_step or route.steps[-1]
        if event.topic not in node.publish_topics:
            raise ProtocolConfigurationError(
                f"publishes on {event.topic}, which event_bus.publish_topics does not declare",
                file=file,
                field=f"{field}.topic",
            )
        if source not in route.steps:
            raise ProtocolConfigurationError(
                f"publishes the result of {source}, which is not a step of this route",
                file=file,
                field=f"{field}.from_step",
            )
        publish.append((event.topic, source))
    if route.on_failure is not None and route.on_failure not in node.publish_topics:
        raise ProtocolConfigurationError(
            f"on_failure topic {route.on_failure} is not in event_bus.publish_topics",
            file=file,
            field=f"{where}.on_failure",
        )
    return CompiledRoute(tuple(compiled), tuple(publish), route.on_failure)


def _same_kind(declared: str, archetype: EnumNodeKind) -> bool:
    """Whether a graph node's ``node_type`` (``COMPUTE`` or ``COMPUTE_GENERIC``) names it."""
    return declared.upper().removesuffix("_GENERIC") == archetype.name
