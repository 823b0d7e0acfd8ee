"""Graphs drawn from contracts: the registration FSM and workflow in Mermaid and DOT, edge cases
of FSMs (wildcards, awkward state names, terminal and error states), the clear refusal for a
node with nothing to draw, and the README's registration diagram kept equal to the renderer's."""

from __future__ import annotations

import re
from pathlib import Path

import pydot
import pytest
import yaml

from omnibase_infra._core import ModelContractReducer
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.nodes import __file__ as nodes_init
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.documents.contract_graphs import (
    has_graph,
    missing_graph_reason,
    render_contract_graph,
)

NODES = Path(nodes_init).parent
README = Path(__file__).parents[4] / "README.md"
README_MARKER = "<!-- generated: onex-infra contracts graph node_registration_reducer -->"
V1 = {"major": 1, "minor": 0, "patch": 0}

# "A --> B : trigger, trigger [guard]" lines of a Mermaid state diagram, [*] excluded.
_MERMAID_EDGE = re.compile(r"^    (?!\[\*\])(\S+) --> (?!\[\*\])(\S+) : (.+)$", re.MULTILINE)


def mermaid_transitions(text: str) -> list[tuple[str, str, str]]:
    """(from, to, trigger label) of every transition a Mermaid state diagram shows."""
    return [
        (source, target, label)
        for source, target, labels in _MERMAID_EDGE.findall(text)
        for label in labels.split(", ")
    ]


def _package(name: str) -> ModelNodeContract:
    return load_contract(NODES / name / "contract.yaml", allowlist=DEFAULT_ALLOWLIST)


def _reducer(tmp_path: Path, states: list[dict[str, object]], **fsm: object) -> ModelNodeContract:
    """A reducer contract written to disk and loaded, with the given states and FSM fields."""
    data = {
        "name": "graph_test_reducer",
        "contract_version": V1,
        "description": "test",
        "node_type": "REDUCER_GENERIC",
        "input_model": "omnibase_infra.x.ModelIn",
        "output_model": "omnibase_infra.x.ModelOut",
        "state_machine": {
            "version": V1,
            "state_machine_name": "graph_test",
            "state_machine_version": V1,
            "description": "test",
            "states": [
                {"version": V1, "state_type": "operational", "description": "d", **s}
                for s in states
            ],
            **fsm,
        },
    }
    path = tmp_path / "node" / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_contract(path, allowlist=DEFAULT_ALLOWLIST)


def _transition(name: str, source: str, target: str, trigger: str) -> dict[str, object]:
    return {
        "version": V1,
        "transition_name": name,
        "from_state": source,
        "to_state": target,
        "trigger": trigger,
    }


def _dot_edges(text: str) -> list[tuple[str, str, str]]:
    """(source, target, label) of every edge of the one graph in ``text``, via pydot's parser."""
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None
    assert len(graphs) == 1
    return [
        (_unquote(edge.get_source()), _unquote(edge.get_destination()), _unquote(edge.get_label()))
        for edge in graphs[0].get_edges()
    ]


def _unquote(text: str | None) -> str:
    """A DOT string without its surrounding quotes (escapes inside are kept)."""
    text = text or ""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


# -- the registration FSM ---------------------------------------------------------------------


def test_registration_fsm_in_mermaid_has_every_state_and_transition() -> None:
    """The Mermaid drawing of the registration FSM shows its 8 states and all 28 transitions,
    each with its trigger."""
    contract = _package("node_registration_reducer")
    assert isinstance(contract.definition, ModelContractReducer)
    fsm = contract.definition.state_machine
    assert fsm is not None
    text = render_contract_graph(contract, "mermaid")
    shown = mermaid_transitions(text)
    expected = [(t.from_state, t.to_state, t.trigger) for t in fsm.transitions]
    assert len(expected) == 28
    assert sorted((s, t, label.split(" [")[0]) for s, t, label in shown) == sorted(expected)
    assert {s for edge in shown for s in edge[:2]} == {s.state_name for s in fsm.states}
    assert len({s.state_name for s in fsm.states}) == 8
    # Triggers between the same two states share one edge (Mermaid would stack them).
    assert "    pending --> pending : introspected, acked, heartbeat" in text.splitlines()
    assert "    [*] --> unregistered" in text.splitlines()
    assert "    pending --> active : registered [acked == True]" in text.splitlines()
    # The three states a node can leave only by introspecting again are marked, not terminal.
    assert "    class expired,rejected,deregistered terminal_like" in text.splitlines()
    assert "--> [*]" not in text


def test_registration_fsm_in_dot_parses_with_every_transition() -> None:
    """The DOT drawing parses with Graphviz's grammar and has the 28 transitions plus the start."""
    text = render_contract_graph(_package("node_registration_reducer"), "dot")
    edges = _dot_edges(text)
    assert edges[0] == ("[*]", "unregistered", "")
    assert len(edges) == 29
    assert ("stale", "expired", "liveness_expired") in edges
    assert ("pending", "active", "registered [acked == True]") in edges
    graph = pydot.graph_from_dot_data(text)
    assert graph is not None
    expired = graph[0].get_node('"expired"')[0]
    assert expired.get("style") == '"rounded,dashed"'


def test_readme_shows_the_registration_fsm_exactly_as_the_command_draws_it() -> None:
    """The README's registration diagram is the renderer's current output (regenerate it with
    ``onex-infra contracts graph node_registration_reducer``)."""
    text = README.read_text()
    assert README_MARKER in text
    after = text.split(README_MARKER, 1)[1]
    match = re.match(r"\s*```mermaid\n(.*?)```", after, re.DOTALL)
    assert match is not None, "the marker must be followed by a ```mermaid block"
    drawn = render_contract_graph(_package("node_registration_reducer"), "mermaid")
    assert match.group(1) == drawn, (
        "README's registration FSM is stale: replace the block with the output of "
        "`onex-infra contracts graph node_registration_reducer`"
    )


# -- the registration workflow ------------------------------------------------------------------


def test_registration_workflow_shows_steps_and_published_topics() -> None:
    """The workflow drawing has the topics in, both steps in dependency order, every published
    topic labelled with the coordination rule that names it."""
    contract = _package("node_registration_orchestrator")
    lines = render_contract_graph(contract, "mermaid").splitlines()
    assert lines[3] == "flowchart LR"
    assert '    step0["node_registration_reducer<br/>REDUCER"]' in lines
    assert "    orchestrator --> step0" in lines
    assert "    step0 --> step1" in lines
    topics_in = [line for line in lines if line.endswith("--> orchestrator")]
    assert len(topics_in) == len(contract.subscribe_topics) == 5
    assert (
        '    orchestrator -->|announce.stale| out3[/"onex.evt.platform.node-became-stale.v1"/]'
        in lines
    )
    assert any("|request_introspection|" in line for line in lines)

    edges = _dot_edges(render_contract_graph(contract, "dot"))
    me = "node_registration_orchestrator"
    assert (me, "node_registration_reducer", "") in edges
    assert ("node_registration_reducer", "node_registry_effect", "") in edges
    published = {target: label for source, target, label in edges if source == me}
    assert published["onex.evt.platform.node-registration-accepted.v1"] == "announce.accepted"
    assert len([t for t in published if t.startswith("onex.")]) == 7


# -- other FSMs -----------------------------------------------------------------------------------


def test_terminal_and_error_states_are_marked(tmp_path: Path) -> None:
    """Declared terminal states end in [*] and are drawn double; error states get their class."""
    contract = _reducer(
        tmp_path,
        [
            {"state_name": "open", "state_type": "initial"},
            {
                "state_name": "done",
                "state_type": "terminal",
                "is_terminal": True,
                "is_recoverable": False,
            },
            {"state_name": "broken", "state_type": "error"},
        ],
        initial_state="open",
        terminal_states=["done"],
        error_states=["broken"],
        transitions=[
            _transition("finish", "open", "done", "finish"),
            _transition("break", "open", "broken", "fail"),
        ],
    )
    lines = render_contract_graph(contract, "mermaid").splitlines()
    assert "    done --> [*]" in lines
    assert "    class done terminal" in lines
    assert "    class broken error" in lines
    graph = pydot.graph_from_dot_data(render_contract_graph(contract, "dot"))
    assert graph is not None
    assert graph[0].get_node('"done"')[0].get("peripheries") == '"2"'


def test_awkward_state_names_and_wildcards_stay_valid(tmp_path: Path) -> None:
    """State names Mermaid cannot take as ids are aliased, quotes and ';' are escaped, and a
    wildcard transition starts from an explicit 'any state'."""
    contract = _reducer(
        tmp_path,
        [
            {"state_name": "end", "state_type": "initial"},
            {"state_name": 'say "hi"'},
        ],
        initial_state="end",
        transitions=[
            _transition("greet", "end", 'say "hi"', "go;now"),
            _transition("reset", "*", "end", "reset"),
        ],
    )
    lines = render_contract_graph(contract, "mermaid").splitlines()
    assert '    state "end" as s0' in lines
    assert '    state "say #quot;hi#quot;" as s1' in lines
    assert "    s0 --> s1 : go#59;now" in lines
    assert "    any_state --> s0 : reset" in lines
    edges = _dot_edges(render_contract_graph(contract, "dot"))
    assert ("end", 'say \\"hi\\"', "go;now") in edges
    assert ("any state", "end", "reset") in edges


# -- nothing to draw ------------------------------------------------------------------------------


def test_a_node_without_fsm_or_workflow_is_refused_by_name() -> None:
    """An effect has nothing to draw: the error names the node, its archetype and what it has."""
    contract = _package("node_registry_effect")
    assert not has_graph(contract)
    with pytest.raises(ProtocolConfigurationError) as caught:
        render_contract_graph(contract, "mermaid")
    assert "node node_registry_effect (effect) declares no FSM" in caught.value.message
    assert "0 subscribed and 0 published topic(s)" in missing_graph_reason(contract)
