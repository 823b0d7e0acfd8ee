"""``input_model`` types the payload of a contract's one catch-all route (no event_model), and
only that: several catch-all routes may take payloads it does not describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from declarative_unit_support import V, contract

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.infra_nodes.models import ModelDeployServiceRequested
from omnibase_infra.observability.logging import configure_logging
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.node_wiring import build_routes

HANDLER = (
    "{name: HandlerDeploymentPlan, "
    "module: omnibase_infra.infra_nodes.node_deployment_plan_compute.handler}"
)
TOPICS = ("onex.cmd.deploy.one.v1", "onex.cmd.deploy.two.v1")


def _compute(entries: str) -> str:
    return f"""
name: node_typed_compute
node_type: COMPUTE_GENERIC
contract_version: {V}
description: Typed by its input_model.
performance: {{single_operation_max_ms: 5}}
input_model: omnibase_infra.infra_nodes.models.ModelDeployServiceRequested
output_model: omnibase_infra.infra_nodes.models.ModelDeploymentPlan
event_bus:
  version: {V}
  subscribe_topics: [{", ".join(TOPICS)}]
handler_routing:
  version: {V}
  handlers:
{entries}
"""


def test_the_one_catch_all_route_is_typed_by_input_model(tmp_path: Path) -> None:
    """One handler entry without event_model: every route it makes validates into the
    contract's input_model."""
    node = contract(tmp_path, _compute(f"    - handler: {HANDLER}"))
    routes = build_routes([node], ModelONEXContainer(), DEFAULT_ALLOWLIST)
    assert {r.topic for r in routes} == set(TOPICS)
    assert {r.input_model for r in routes} == {ModelDeployServiceRequested}


def test_run_warns_when_a_compute_result_goes_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A subscribed COMPUTE node no workflow uses still starts (validate refuses it), but
    wiring logs a warning naming its contract instead of dropping results without a word."""
    node = contract(tmp_path, _compute(f"    - handler: {HANDLER}"))
    configure_logging()  # the package's default: JSON lines on stderr
    build_routes([node], ModelONEXContainer(), DEFAULT_ALLOWLIST)
    lines = [line for line in capsys.readouterr().err.splitlines() if "result dropped" in line]
    assert len(lines) == 1
    assert str(node.path) in lines[0]
    assert "result goes nowhere" in lines[0]


def test_several_catch_all_routes_are_left_untyped(tmp_path: Path) -> None:
    """Two entries by topic without event_model (like the registration orchestrator's): the
    payload stays plain JSON, as before."""
    entries = "\n".join(f"    - handler: {HANDLER}\n      topic: {topic}" for topic in TOPICS)
    node = contract(tmp_path, _compute(entries))
    routes = build_routes([node], ModelONEXContainer(), DEFAULT_ALLOWLIST)
    assert len(routes) == 2
    assert {r.input_model for r in routes} == {None}
