"""The dashboard's drawing of contracts: the structure matches what the text formats draw,
every FSM state carries its live count, every label is escaped, and the view of a snapshot
counts every drawn state (0 included) and escapes what it shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnibase_infra.nodes import __file__ as nodes_init
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.dashboard.graph_svg import count_key, render_graph_svg
from omnibase_infra.runtime.dashboard.model_dashboard_settings import ModelDashboardSettings
from omnibase_infra.runtime.dashboard.model_dashboard_snapshot import ModelDashboardSnapshot
from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary
from omnibase_infra.runtime.dashboard.view import dashboard_view
from omnibase_infra.runtime.documents.contract_graphs import contract_graph, render_contract_graph
from omnibase_infra.runtime.documents.model_contract_graph import (
    ModelContractGraph,
    ModelGraphEdge,
    ModelGraphNode,
)

NODES = Path(nodes_init).parent
REDUCER = "node_registration_reducer"
_DOT_EDGE = re.compile(r'^    "([^"]+)" -> "([^"]+)"', re.MULTILINE)


def _contract(name: str) -> ModelContractGraph:
    return contract_graph(
        load_contract(NODES / name / "contract.yaml", allowlist=DEFAULT_ALLOWLIST)
    )


def test_fsm_structure_has_the_pairs_the_dot_drawing_has() -> None:
    """The registration FSM as nodes and edges joins the same (from, to) pairs DOT draws."""
    contract = load_contract(NODES / REDUCER / "contract.yaml", allowlist=DEFAULT_ALLOWLIST)
    graph = contract_graph(contract)
    dot_pairs = set(_DOT_EDGE.findall(render_contract_graph(contract, "dot")))
    assert graph.kind == "fsm"
    assert {(e.source, e.target) for e in graph.edges} == dot_pairs
    states = [n.id for n in graph.nodes if n.kind != "start"]
    assert len(states) == 8
    assert {n.kind for n in graph.nodes if n.id in ("expired", "rejected")} == {"terminal_like"}


def test_workflow_structure_names_every_topic_and_step() -> None:
    """The registration workflow: each subscribed and published topic and both steps."""
    graph = _contract("node_registration_orchestrator")
    kinds = [n.kind for n in graph.nodes]
    assert graph.kind == "workflow"
    assert kinds.count("topic_in") == 5
    assert kinds.count("step") == 2
    assert kinds.count("topic_out") == 7
    assert any(e.label == "announce.accepted" for e in graph.edges)


def test_svg_carries_a_count_on_every_state_of_the_fsm() -> None:
    """Each state of the FSM shows its count (the given one, else 0) under its ``data-k``."""
    graph = _contract(REDUCER)
    svg = render_graph_svg(graph, {"active": 7})
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert f'data-k="{count_key(REDUCER, "active")}">7<' in svg
    for node in graph.nodes:
        if node.kind != "start":
            assert f'data-k="{count_key(REDUCER, node.id)}"' in svg


def test_svg_escapes_labels() -> None:
    """A label with markup is drawn as text, never as markup."""
    graph = ModelContractGraph(
        node_name="n<b>",
        kind="fsm",
        title="t",
        nodes=(
            ModelGraphNode(id="[*]", label="", kind="start"),
            ModelGraphNode(id="<script>x</script>", label="<script>x</script>", kind="state"),
        ),
        edges=(
            ModelGraphEdge(source="[*]", target="<script>x</script>"),
            ModelGraphEdge(source="<script>x</script>", target="<script>x</script>", label="a&b"),
        ),
    )
    svg = render_graph_svg(graph)
    assert "<script>" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg
    assert "a&amp;b" in svg


def _snapshot(**fields: object) -> ModelDashboardSnapshot:
    return ModelDashboardSnapshot.model_validate({"at": datetime.now(UTC), **fields})


def test_view_counts_every_drawn_state_and_escapes_tables() -> None:
    """A state with no registration shows 0 on the FSM; names from metrics are escaped."""
    fleet = ModelFleetSummary(reducer=REDUCER, total=3, by_state={"active": 3})
    snapshot = _snapshot(
        fleet=fleet, breakers={"<img src=x>": "open"}, dead_letters={"invalid_input": 2}
    )
    view = dashboard_view(snapshot, {REDUCER: ["pending", "active"]})
    assert view.values[count_key(REDUCER, "active")] == "3"
    assert view.values[count_key(REDUCER, "pending")] == "0"
    assert view.values["fleet.total"] == "3"
    assert "<img" not in view.tables["breakers"]
    assert 'data-k="dlq.invalid_input">2<' in view.tables["dead_letters"]
    assert 'data-k="fleet.state.active">3<' in view.tables["states"]


def test_view_without_a_fleet_says_so() -> None:
    """Without a fleet source the page says registration is off, not 0 registrations."""
    view = dashboard_view(_snapshot())
    assert view.values["fleet.total"] == "n/a"
    assert "registration off" in view.tables["states"]


def test_settings_bind_loopback_only_and_default_to_the_local_profile() -> None:
    """A non-loopback host is refused; unset ``enabled`` serves in local, not production."""
    with pytest.raises(ValueError, match="no authentication"):
        ModelDashboardSettings(host="0.0.0.0")
    settings = ModelDashboardSettings()
    assert settings.serves("local")
    assert not settings.serves("production")
    assert ModelDashboardSettings(enabled=True).serves("production")
    assert not ModelDashboardSettings(enabled=False).serves("local")
