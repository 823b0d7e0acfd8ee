"""Draws what loaded contracts declare: a reducer's FSM and an orchestrator's workflow.

The FSM is core's FSM subcontract (``state_machine``): its states, its transitions labelled
with their trigger (and guard conditions; in Mermaid, the triggers of one pair of states share
one edge), the initial state, terminal states marked. The
workflow is an orchestrator's ``workflow_coordination.workflow_definition``: the topics that
start it, its execution graph (each step is the node it calls, edges from ``depends_on``) and
the topics it publishes, labelled with the coordination rule that names each. Output is
Mermaid (``stateDiagram-v2`` / ``flowchart``) or Graphviz DOT text; nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Literal

from omnibase_infra._core import (
    ModelContractOrchestrator,
    ModelContractReducer,
    ModelContractWorkflowDefinition,
    ModelFSMStateTransition,
    ModelFSMSubcontract,
)
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.documents.model_contract_graph import (
    EnumGraphNodeKind,
    ModelContractGraph,
    ModelGraphEdge,
    ModelGraphNode,
)

__all__ = [
    "GraphFormat",
    "contract_graph",
    "has_graph",
    "missing_graph_reason",
    "render_contract_graph",
]

GraphFormat = Literal["mermaid", "dot"]

_MERMAID_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Words with a meaning in Mermaid's state diagrams; such a state is drawn through an alias.
_MERMAID_WORDS = frozenset({"state", "note", "end", "direction", "class", "classDef", "style"})
_MERMAID_SPECIAL = re.compile(r"[#;|]")
_ANY_STATE = "*"  # core's wildcard from_state
_STATE_STYLES = {  # Mermaid classDef per marked kind of state
    "terminal": "stroke-width:3px",
    "terminal_like": "stroke-dasharray:5 3",
    "error": "stroke:#b00020,stroke-width:2px",
}
_MARKED_KINDS: dict[str, EnumGraphNodeKind] = {
    "terminal": "terminal",
    "terminal_like": "terminal_like",
    "error": "error",
}


def _fsm(contract: ModelNodeContract) -> ModelFSMSubcontract | None:
    definition = contract.definition
    return definition.state_machine if isinstance(definition, ModelContractReducer) else None


def _workflow(contract: ModelNodeContract) -> ModelContractWorkflowDefinition | None:
    definition = contract.definition
    if not isinstance(definition, ModelContractOrchestrator):
        return None
    return definition.workflow_coordination.workflow_definition


def has_graph(contract: ModelNodeContract) -> bool:
    """Whether the contract declares an FSM or a workflow."""
    return _fsm(contract) is not None or _workflow(contract) is not None


def missing_graph_reason(contract: ModelNodeContract) -> str:
    """Why ``contract`` has nothing to draw, naming the node and what it declares."""
    return (
        f"node {contract.name} ({contract.archetype.value}) declares no FSM (a REDUCER's "
        "state_machine) and no workflow (an ORCHESTRATOR's "
        "workflow_coordination.workflow_definition); it has "
        f"{len(contract.subscribe_topics)} subscribed and {len(contract.publish_topics)} "
        f"published topic(s) and {len(contract.routes)} handler route(s)"
    )


def render_contract_graph(contract: ModelNodeContract, fmt: GraphFormat) -> str:
    """The contract's FSM or workflow as ``fmt`` text (ends with a newline).

    Raises ``ProtocolConfigurationError`` when the contract declares neither.
    """
    fsm, workflow = _fsm(contract), _workflow(contract)
    if fsm is not None:
        title = f"{contract.name}: FSM {fsm.state_machine_name} v{fsm.state_machine_version}"
        lines = _fsm_mermaid(fsm) if fmt == "mermaid" else _fsm_dot(fsm)
    elif workflow is not None:
        meta = workflow.workflow_metadata
        title = f"{contract.name}: workflow {meta.workflow_name}"
        lines = (
            _workflow_mermaid(contract, workflow)
            if fmt == "mermaid"
            else (_workflow_dot(contract, workflow))
        )
    else:
        raise ProtocolConfigurationError(missing_graph_reason(contract), file=str(contract.path))
    if fmt == "mermaid":
        header = ["---", f"title: {json.dumps(title)}", "---"]
        return "\n".join([*header, *lines]) + "\n"
    return "\n".join([f"digraph {_dq(contract.name)} {{", *_dot_title(title), *lines, "}"]) + "\n"


def contract_graph(contract: ModelNodeContract) -> ModelContractGraph:
    """The contract's FSM or workflow as nodes and edges (what the text formats draw).

    Raises ``ProtocolConfigurationError`` when the contract declares neither.
    """
    fsm, workflow = _fsm(contract), _workflow(contract)
    if fsm is not None:
        return ModelContractGraph(
            node_name=contract.name,
            kind="fsm",
            title=f"FSM {fsm.state_machine_name} v{fsm.state_machine_version}",
            nodes=tuple(_fsm_nodes(fsm)),
            edges=tuple(_fsm_edges(fsm)),
        )
    if workflow is not None:
        nodes, edges = _workflow_structure(contract, workflow)
        return ModelContractGraph(
            node_name=contract.name,
            kind="workflow",
            title=f"workflow {workflow.workflow_metadata.workflow_name}",
            nodes=tuple(nodes),
            edges=tuple(edges),
        )
    raise ProtocolConfigurationError(missing_graph_reason(contract), file=str(contract.path))


# -- FSM ------------------------------------------------------------------------------------------


def _terminal_states(fsm: ModelFSMSubcontract) -> set[str]:
    return set(fsm.terminal_states) | {s.state_name for s in fsm.states if s.is_terminal}


def _state_marks(fsm: ModelFSMSubcontract) -> dict[str, str]:
    """State name -> the kind it is marked as (terminal, error, or its own state_type)."""
    terminal, errors = _terminal_states(fsm), set(fsm.error_states)
    marks: dict[str, str] = {}
    for state in fsm.states:
        name = state.state_name
        if name in terminal:
            marks[name] = "terminal"
        elif name in errors:
            marks[name] = "error"
        elif state.state_type in _STATE_STYLES:
            marks[name] = state.state_type
    return marks


def _trigger_label(transition: ModelFSMStateTransition) -> str:
    guards = [c.expression or c.condition_name for c in transition.conditions]
    return transition.trigger + (f" [{' and '.join(guards)}]" if guards else "")


def _fsm_nodes(fsm: ModelFSMSubcontract) -> list[ModelGraphNode]:
    marks = _state_marks(fsm)
    nodes = [ModelGraphNode(id="[*]", label="", kind="start")]
    for state in fsm.states:
        kind = _MARKED_KINDS.get(marks.get(state.state_name, ""), "state")
        nodes.append(ModelGraphNode(id=state.state_name, label=state.state_name, kind=kind))
    if any(t.from_state == _ANY_STATE for t in fsm.transitions):
        nodes.append(ModelGraphNode(id=_ANY_STATE, label="any state", kind="any_state"))
    return nodes


def _fsm_edges(fsm: ModelFSMSubcontract) -> list[ModelGraphEdge]:
    edges: dict[tuple[str, str], list[str]] = {("[*]", fsm.initial_state): []}
    for transition in fsm.transitions:
        pair = (transition.from_state, transition.to_state)
        edges.setdefault(pair, []).append(_trigger_label(transition))
    return [ModelGraphEdge(source=s, target=t, label=", ".join(x)) for (s, t), x in edges.items()]


def _fsm_mermaid(fsm: ModelFSMSubcontract) -> list[str]:
    ids: dict[str, str] = {}
    lines = ["stateDiagram-v2"]
    for index, state in enumerate(fsm.states):
        name = state.state_name
        if _MERMAID_ID.fullmatch(name) and name not in _MERMAID_WORDS:
            ids[name] = name
        else:
            ids[name] = f"s{index}"
            lines.append(f"    state {_mq(name)} as s{index}")
    if any(t.from_state == _ANY_STATE for t in fsm.transitions):
        ids[_ANY_STATE] = "any_state"
        lines.append('    state "any state" as any_state')
    lines.append(f"    [*] --> {ids.get(fsm.initial_state, fsm.initial_state)}")
    # One edge per pair of states, its triggers listed: Mermaid draws parallel edges, and self
    # loops above all, on top of one another, hiding all but one label.
    edges: dict[tuple[str, str], list[str]] = {}
    for transition in fsm.transitions:
        pair = (ids[transition.from_state], ids[transition.to_state])
        edges.setdefault(pair, []).append(_mermaid_text(_trigger_label(transition)))
    lines.extend(f"    {s} --> {t} : {', '.join(labels)}" for (s, t), labels in edges.items())
    lines.extend(f"    {ids[name]} --> [*]" for name in sorted(_terminal_states(fsm)))
    marks = _state_marks(fsm)
    for mark, style in _STATE_STYLES.items():
        marked = [ids[name] for name, kind in marks.items() if kind == mark]
        if marked:
            lines.append(f"    classDef {mark} {style}")
            lines.append(f"    class {','.join(marked)} {mark}")
    return lines


def _fsm_dot(fsm: ModelFSMSubcontract) -> list[str]:
    marks = _state_marks(fsm)
    lines = [
        "    rankdir=LR;",
        "    node [shape=box, style=rounded];",
        f'    {_dq("[*]")} [shape=point, label=""];',
        f"    {_dq('[*]')} -> {_dq(fsm.initial_state)};",
    ]
    for state in fsm.states:
        attributes = {"tooltip": state.description, "xlabel": marks.get(state.state_name, "")}
        if marks.get(state.state_name) == "terminal":
            attributes["peripheries"] = "2"
        elif state.state_name in marks:
            attributes["style"] = "rounded,dashed"
        lines.append(f"    {_dq(state.state_name)} [{_dot_attributes(attributes)}];")
    for transition in fsm.transitions:
        source = "any state" if transition.from_state == _ANY_STATE else transition.from_state
        label = _dot_attributes({"label": _trigger_label(transition)})
        lines.append(f"    {_dq(source)} -> {_dq(transition.to_state)} [{label}];")
    return lines


# -- workflow -------------------------------------------------------------------------------------


def _rule_topics(rules: Mapping[str, object] | None) -> dict[str, str]:
    """Topic -> the coordination rule naming it (``announce.accepted``), first one wins."""
    found: dict[str, str] = {}

    def walk(value: object, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, Mapping):
            for key, item in value.items():
                yield from walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{path}.{index}")
        elif isinstance(value, str) and _is_topic(value):
            yield value, path

    for topic, path in walk(rules or {}, ""):
        found.setdefault(topic, path)
    return found


def _is_topic(text: str) -> bool:
    try:
        parse_topic(text)
    except ProtocolConfigurationError:
        return False
    return True


def _published(
    contract: ModelNodeContract, workflow: ModelContractWorkflowDefinition
) -> list[tuple[str, str]]:
    """(topic, rule) for every topic the orchestrator publishes; rule is '' when none names it."""
    rules = _rule_topics(workflow.coordination_rules)
    topics = [*contract.publish_topics, *(t for t in rules if t not in contract.publish_topics)]
    return [(topic, rules.get(topic, "")) for topic in topics]


def _workflow_structure(
    contract: ModelNodeContract, workflow: ModelContractWorkflowDefinition
) -> tuple[list[ModelGraphNode], list[ModelGraphEdge]]:
    me = contract.name
    nodes = [ModelGraphNode(id=me, label=me, kind="orchestrator")]
    edges: list[ModelGraphEdge] = []
    for topic in contract.subscribe_topics:
        nodes.append(ModelGraphNode(id=f"in:{topic}", label=topic, kind="topic_in"))
        edges.append(ModelGraphEdge(source=f"in:{topic}", target=me))
    steps = {node.node_id for node in workflow.execution_graph.nodes}
    for node in workflow.execution_graph.nodes:
        label = f"{node.node_id} ({node.node_type})"
        nodes.append(ModelGraphNode(id=f"step:{node.node_id}", label=label, kind="step"))
        for source in node.depends_on or [me]:
            source_id = f"step:{source}" if source in steps else source
            edges.append(ModelGraphEdge(source=source_id, target=f"step:{node.node_id}"))
    for topic, rule in _published(contract, workflow):
        nodes.append(ModelGraphNode(id=f"out:{topic}", label=topic, kind="topic_out"))
        edges.append(ModelGraphEdge(source=me, target=f"out:{topic}", label=rule))
    return nodes, edges


def _workflow_mermaid(
    contract: ModelNodeContract, workflow: ModelContractWorkflowDefinition
) -> list[str]:
    lines = ["flowchart LR", f"    orchestrator([{_mq(contract.name)}])"]
    for index, topic in enumerate(contract.subscribe_topics):
        lines.append(f"    in{index}[/{_mq(topic)}/] --> orchestrator")
    steps = {node.node_id: f"step{i}" for i, node in enumerate(workflow.execution_graph.nodes)}
    for node in workflow.execution_graph.nodes:
        label = _mq(f"{node.node_id}<br/>{node.node_type}")
        lines.append(f"    {steps[node.node_id]}[{label}]")
        for source in node.depends_on or ["orchestrator"]:
            lines.append(f"    {steps.get(source, source)} --> {steps[node.node_id]}")
    for index, (topic, rule) in enumerate(_published(contract, workflow)):
        arrow = f"-->|{_mermaid_text(rule)}|" if rule else "-->"
        lines.append(f"    orchestrator {arrow} out{index}[/{_mq(topic)}/]")
    return lines


def _workflow_dot(
    contract: ModelNodeContract, workflow: ModelContractWorkflowDefinition
) -> list[str]:
    me = _dq(contract.name)
    lines = ["    rankdir=LR;", f"    {me} [shape=doubleoctagon];"]
    for topic in contract.subscribe_topics:
        lines += [f"    {_dq(topic)} [shape=cds];", f"    {_dq(topic)} -> {me};"]
    for node in workflow.execution_graph.nodes:
        label = _dot_attributes({"label": f"{node.node_id}\n{node.node_type}"})
        lines.append(f"    {_dq(node.node_id)} [shape=box, style=rounded, {label}];")
        for source in node.depends_on or [contract.name]:
            lines.append(f"    {_dq(source)} -> {_dq(node.node_id)};")
    for topic, rule in _published(contract, workflow):
        label = f" [{_dot_attributes({'label': rule})}]" if rule else ""
        lines += [f"    {_dq(topic)} [shape=cds];", f"    {me} -> {_dq(topic)}{label};"]
    return lines


# -- text -----------------------------------------------------------------------------------------


def _mq(text: str) -> str:
    """A double-quoted Mermaid label (Mermaid has no backslash escape, only entity codes)."""
    return '"' + text.replace('"', "#quot;") + '"'


def _dq(text: str) -> str:
    """A double-quoted DOT identifier or string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _mermaid_text(text: str) -> str:
    """Free text on a Mermaid edge: one line, the characters that end a statement as codes."""
    return _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m[0])};", text.replace("\n", " "))


def _dot_attributes(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={_dq(value)}" for key, value in attributes.items() if value)


def _dot_title(title: str) -> list[str]:
    return [f"    graph [{_dot_attributes({'label': title, 'labelloc': 't'})}];"]
