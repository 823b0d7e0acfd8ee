"""``onex-infra validate`` on YAML-only nodes and on a COMPUTE node whose result goes nowhere:
each problem is a row naming the file, the field and the reason."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import yaml
from runtime_testnodes import DEPLOYMENT_DIR, PIPELINE_DIR

from omnibase_infra.infra_nodes import INFRA_NODES_DIR

CLI = str(Path(sys.executable).parent / "onex-infra")
NODES_ROOT = Path(__file__).resolve().parent.parent  # holds the runtime_testnodes package


async def _validate(tmp_path: Path, *directories: Path) -> tuple[int, str]:
    config = tmp_path / "validate.yaml"
    config.write_text(
        yaml.safe_dump({"plugin_allowlist": ["runtime_testnodes"], "use_entry_points": False})
    )
    contracts = [arg for d in directories for arg in ("--contracts", str(d))]
    process = await asyncio.create_subprocess_exec(
        CLI,
        "validate",
        "--config",
        str(config),
        *contracts,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(NODES_ROOT), "HOME": str(tmp_path), "COLUMNS": "500"},
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def _row(output: str, *cells: str) -> bool:
    return any(all(cell in line for cell in cells) for line in output.splitlines())


async def test_validate_accepts_the_shipped_yaml_only_nodes_with_their_effect(
    tmp_path: Path,
) -> None:
    """The infra reducer, orchestrator and plan compute with the operator's apply effect: 0."""
    code, output = await _validate(tmp_path, INFRA_NODES_DIR, DEPLOYMENT_DIR)
    assert code == 0, output
    assert "ok: 4 contract(s)" in output


async def test_validate_refuses_a_workflow_step_no_loaded_node_answers(tmp_path: Path) -> None:
    """Without the apply effect the deployment workflow calls a node nobody loaded: one row
    naming the orchestrator's contract, the step's field and the reason."""
    code, output = await _validate(tmp_path, INFRA_NODES_DIR)
    assert code == 1, output
    contract = INFRA_NODES_DIR / "node_infra_orchestrator" / "contract.yaml"
    assert _row(
        output,
        str(contract),
        "coordination_rules.on_event.ModelDeployServiceRequested.steps.1",
        "workflow",
        "node_deployment_apply_effect is not a loaded COMPUTE or EFFECT node",
    )
    assert "1 problem(s)" in output


async def test_validate_refuses_a_compute_whose_result_goes_nowhere(tmp_path: Path) -> None:
    """The square compute subscribed to a topic without the orchestrator whose workflow uses
    it: its result would be dropped, so validate names the file, the field and why."""
    contracts = tmp_path / "contracts"
    shutil.copytree(PIPELINE_DIR / "node_rt_square_compute", contracts / "node_rt_square_compute")
    code, output = await _validate(tmp_path, contracts)
    assert code == 1, output
    assert _row(
        output,
        str(contracts / "node_rt_square_compute" / "contract.yaml"),
        "event_bus.subscribe_topics",
        "workflow",
        "result goes nowhere",
    )
