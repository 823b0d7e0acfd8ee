"""``onex-infra contracts graph`` and ``onex-infra asyncapi`` as a user runs them: the installed
command on the package's contracts and on a directory of a user's own nodes, graphs checked for
their states, transitions and steps, AsyncAPI documents validated by the official AsyncAPI
parser (``@asyncapi/parser``, installed by ``scripts/env.sh dev`` into tests/node_tools).

Cost: about ten CLI processes (~1.5 s each) and four Node.js validations (~3 s each)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pydot
import pytest
import yaml
from runtime_support import ALLOWLIST
from runtime_testnodes import PIPELINE_DIR

from omnibase_infra.nodes import __file__ as nodes_init
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.documents.contract_graphs import render_contract_graph

pytestmark = [pytest.mark.integration]

CLI = str(Path(sys.executable).parent / "onex-infra")
NODES_ROOT = Path(__file__).parent  # holds the runtime_testnodes package
PACKAGE_NODES = Path(nodes_init).parent
NODE_TOOLS = Path(__file__).parents[1] / "node_tools"
PARSER_VERSION = "3.6.3"  # tests/node_tools/package.json pins it

Diagnostics = list[dict[str, object]]
_STATE_EDGE = re.compile(r"^    (?!\[\*\])(\S+) --> (?!\[\*\])(\S+) : (.+)$", re.MULTILINE)


def _transitions(mermaid: str) -> list[tuple[str, str, str]]:
    """(from, to, trigger) of each transition of a Mermaid state diagram (one edge per pair of
    states lists its triggers, comma-separated)."""
    return [
        (source, target, trigger)
        for source, target, triggers in _STATE_EDGE.findall(mermaid)
        for trigger in triggers.split(", ")
    ]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``onex-infra args`` to completion; stdout and stderr kept apart."""
    env = {**os.environ, "PYTHONPATH": str(NODES_ROOT), "HOME": str(tmp_path), "COLUMNS": "500"}
    env.pop("ONEX_CONFIG", None)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def _user_config(tmp_path: Path, **values: object) -> Path:
    """A config that loads only the test nodes and trusts their package."""
    path = tmp_path / "runtime.yaml"
    data = {"use_entry_points": False, "plugin_allowlist": [ALLOWLIST], **values}
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def validate_asyncapi() -> Callable[[Path], Diagnostics]:
    """Validate a document file with @asyncapi/parser; returns its diagnostics."""
    node = shutil.which("node")
    installed = NODE_TOOLS / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if node is None or not installed.exists():
        pytest.fail(
            "the AsyncAPI parser is not installed: needs Node.js >= 18 and npm, then "
            "`source scripts/env.sh dev` (npm ci in tests/node_tools)"
        )
    assert json.loads(installed.read_text())["version"] == PARSER_VERSION

    def validate(path: Path) -> Diagnostics:
        result = subprocess.run(
            [node, str(NODE_TOOLS / "validate_asyncapi.mjs"), str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        diagnostics = json.loads(result.stdout)
        assert isinstance(diagnostics, list)
        return diagnostics

    return validate


def _problems(diagnostics: Diagnostics) -> Diagnostics:
    """Errors (0) and warnings (1); information such as 'AsyncAPI 3.1 exists' is left out."""
    return [d for d in diagnostics if isinstance(d["severity"], int) and d["severity"] <= 1]


# -- contracts graph ------------------------------------------------------------------------------


def test_graph_without_a_node_prints_exactly_the_package_graphs(tmp_path: Path) -> None:
    """All nodes with a graph are drawn on stdout and nothing else is; the registration FSM has
    its 8 states and 28 transitions."""
    result = _cli(tmp_path, "contracts", "graph")
    assert result.returncode == 0, result.stderr
    drawn = [
        render_contract_graph(
            load_contract(PACKAGE_NODES / name / "contract.yaml", allowlist=DEFAULT_ALLOWLIST),
            "mermaid",
        )
        for name in ("node_registration_orchestrator", "node_registration_reducer")
    ]
    assert result.stdout == "\n".join(drawn)
    fsm = result.stdout.split("stateDiagram-v2\n", 1)[1]
    transitions = _transitions(fsm)
    assert len(transitions) == 28
    assert len({state for edge in transitions for state in edge[:2]}) == 8
    assert ("stale", "expired", "liveness_expired") in transitions
    assert ("pending", "active", "registered [acked == True]") in transitions
    assert "orchestrator --> step0" in result.stdout


def test_graph_of_one_node_as_dot_is_valid_graphviz(tmp_path: Path) -> None:
    """``--format dot`` of the reducer parses as DOT with the 8 states and 28 transitions."""
    result = _cli(tmp_path, "contracts", "graph", "node_registration_reducer", "--format", "dot")
    assert result.returncode == 0, result.stderr
    graphs = pydot.graph_from_dot_data(result.stdout)
    assert graphs is not None
    assert len(graphs) == 1
    edges = graphs[0].get_edges()
    transitions = [e for e in edges if e.get_source() != '"[*]"']
    assert len(transitions) == 28
    states = {e.get_source() for e in transitions} | {e.get_destination() for e in transitions}
    assert len(states) == 8


def test_graph_of_a_node_without_one_names_the_node_and_what_it_has(tmp_path: Path) -> None:
    """An effect, or an unknown name, exits 1 with a reason on stderr and nothing on stdout."""
    effect = _cli(tmp_path, "contracts", "graph", "node_registry_effect")
    assert effect.returncode == 1
    assert effect.stdout == ""
    assert "node node_registry_effect (effect) declares no FSM" in effect.stderr
    assert (
        "Nodes with a graph: node_registration_orchestrator, node_registration_reducer"
        in effect.stderr
    )
    unknown = _cli(tmp_path, "contracts", "graph", "node_nope")
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert "node_nope is not among the loaded contracts" in unknown.stderr


def test_graph_of_a_users_own_nodes(tmp_path: Path) -> None:
    """A user's contract directory: the orchestrator's workflow (its steps in order and the
    topic it publishes) and the reducer's FSM with its terminal state marked."""
    config = _user_config(tmp_path)
    result = _cli(
        tmp_path, "contracts", "graph", "--config", str(config), "--contracts", str(PIPELINE_DIR)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == 'title: "rt_flow_orchestrator: workflow rt_job"'
    assert '    in0[/"onex.cmd.rtest.start-job.v1"/] --> orchestrator' in lines
    assert '    step0["rt_tally_reducer<br/>REDUCER"]' in lines
    assert '    step1["rt_record_effect<br/>EFFECT"]' in lines
    assert "    step0 --> step1" in lines
    assert '    orchestrator -->|started| out0[/"onex.evt.rtest.job-started.v1"/]' in lines
    assert 'title: "rt_tally_reducer: FSM rt_tally v1.0.0"' in lines
    assert "    counting --> done : finish" in lines
    assert "    done --> [*]" in lines


# -- asyncapi -------------------------------------------------------------------------------------


def test_asyncapi_of_the_package_is_a_valid_document(
    tmp_path: Path, validate_asyncapi: Callable[[Path], Diagnostics]
) -> None:
    """The document on stdout passes the AsyncAPI parser and has a channel per topic the
    registration orchestrator and the adapter nodes use, each with a send or receive
    operation."""
    result = _cli(tmp_path, "asyncapi")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "asyncapi.yaml"
    path.write_text(result.stdout)
    assert _problems(validate_asyncapi(path)) == []
    document = yaml.safe_load(result.stdout)
    topics: set[str] = set()
    for node in (
        "node_registration_orchestrator",
        "node_postgres_adapter_effect",
        "node_vault_adapter_effect",
        "node_consul_adapter_effect",
        "node_webhook_effect",
        "node_keycloak_adapter_effect",
        "node_infrastructure_health_monitor_orchestrator",
    ):
        contract = load_contract(
            PACKAGE_NODES / node / "contract.yaml", allowlist=DEFAULT_ALLOWLIST
        )
        topics.update(contract.subscribe_topics, contract.publish_topics)
    assert {c["address"] for c in document["channels"].values()} == topics
    operation = document["operations"][
        "node_registration_orchestrator.send.onex.evt.platform.node-became-active.v1"
    ]
    assert operation["action"] == "send"
    active = "onex.evt.platform.node-became-active.v1"
    assert operation["messages"] == [
        {"$ref": f"#/channels/{active}/messages/ModelNodeStateChanged"}
    ]
    assert document["servers"]["inmemory"]["host"] == "in-process"


def test_asyncapi_of_a_users_nodes_on_kafka_written_to_a_file(
    tmp_path: Path, validate_asyncapi: Callable[[Path], Diagnostics]
) -> None:
    """``--output`` writes a valid JSON document for the user's nodes: payload models from
    their contracts, one operation per node and topic, the configured Kafka brokers."""
    config = _user_config(
        tmp_path,
        event_bus={"kind": "kafka", "kafka": {"bootstrap_servers": "broker-1.internal:9092"}},
    )
    out = tmp_path / "docs" / "asyncapi.json"
    out.parent.mkdir()
    args = ("--config", str(config), "--contracts", str(PIPELINE_DIR))
    result = _cli(tmp_path, "asyncapi", "--file", str(out), "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {out}: AsyncAPI 3.0, 3 channel(s)" in result.stderr
    assert _problems(validate_asyncapi(out)) == []
    document = json.loads(out.read_text())
    messages = {topic: list(channel["messages"]) for topic, channel in document["channels"].items()}
    assert messages == {
        "onex.cmd.rtest.start-job.v1": ["ModelRtStartJob"],
        "onex.evt.rtest.job-started.v1": ["ModelRtJobStarted"],
        "onex.intent.rtest.record-job.v1": ["ModelRtRecordJob"],
    }
    assert sorted(document["operations"]) == [
        "rt_flow_orchestrator.receive.onex.cmd.rtest.start-job.v1",
        "rt_flow_orchestrator.send.onex.evt.rtest.job-started.v1",
        "rt_record_effect.receive.onex.intent.rtest.record-job.v1",
        "rt_square_compute.receive.onex.cmd.rtest.start-job.v1",
        "rt_tally_reducer.receive.onex.evt.rtest.job-started.v1",
        "rt_tally_reducer.send.onex.intent.rtest.record-job.v1",
    ]
    job = document["components"]["schemas"]["ModelRtJobStarted"]
    assert job["type"] == "object"
    assert job["properties"]
    assert document["servers"] == {
        "kafka-1": {
            "host": "broker-1.internal:9092",
            "protocol": "kafka",
            "description": "Kafka bootstrap server (PLAINTEXT).",
        }
    }


def test_the_validator_rejects_a_broken_document(
    tmp_path: Path, validate_asyncapi: Callable[[Path], Diagnostics]
) -> None:
    """The parser is no rubber stamp: a dangling channel reference and an invalid payload
    schema in an otherwise generated document are reported as errors."""
    result = _cli(tmp_path, "asyncapi", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    first = next(iter(document["operations"].values()))
    first["channel"] = {"$ref": "#/channels/onex.evt.platform.no-such-topic.v1"}
    document["components"]["schemas"]["ModelRuntimeTick"]["type"] = "objekt"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    errors = [d for d in validate_asyncapi(path) if d["severity"] == 0]
    assert any(d["code"] == "invalid-ref" for d in errors), errors
    assert any("ModelRuntimeTick" in json.dumps(d["path"]) for d in errors), errors
