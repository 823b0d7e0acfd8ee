"""``onex-infra run`` and ``validate`` on hostile contracts and plugins, as real processes:
one line naming file, field and reason, the documented exit code, never a traceback.

``run`` exits 2 (configuration error) before serving anything; ``validate`` lists a contract or
plugin problem as a table row and exits 1, and exits 2 when there is nothing it can validate
(the configuration, or a contract directory, is unusable). Each case costs ~1-3 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from runtime_testnodes import DRAIN_DIR, PIPELINE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")
NODES_ROOT = Path(__file__).parent  # holds the runtime_testnodes package
_PACKAGE = "hostile_nodes"


async def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(tmp_path / "pkgs"), str(NODES_ROOT))),
        "HOME": str(tmp_path),
        "COLUMNS": "400",
        "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
        "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
    }
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        async with asyncio.timeout(90):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:  # a run that serves instead of refusing: end it
            process.kill()
            await process.wait()
    assert process.returncode is not None
    text = output.decode(errors="replace")
    print(f"exit {process.returncode}:\n{text}")
    return process.returncode, text


def _node_package(tmp_path: Path, handler_source: str) -> Path:
    """A plugin package with one COMPUTE node whose handler module is ``handler_source``."""
    package = tmp_path / "pkgs" / _PACKAGE
    node = package / "node_hostile_compute"
    shutil.copytree(PIPELINE_DIR / "node_rt_square_compute", node)
    (package / "__init__.py").write_text("")
    contract = node / "contract.yaml"
    contract.write_text(
        contract.read_text()
        .replace(
            "runtime_testnodes.pipeline.node_rt_square_compute.handler",
            f"{_PACKAGE}.node_hostile_compute.handler",
        )
        .replace("rt_square_compute", "hostile_compute")
    )
    (node / "handler.py").write_text(handler_source)
    return package


def _config(tmp_path: Path, contract_dir: Path) -> Path:
    path = tmp_path / "runtime.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "plugin_allowlist": [_PACKAGE, "runtime_testnodes"],
                "use_entry_points": False,
                "contract_dirs": [str(contract_dir)],
                "postgres": {"mode": "disabled"},
                "http": {"port": 0},
            }
        )
    )
    return path


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def broken(:\n", "invalid syntax"),
        ("raise RuntimeError('boom at import')\n", "raised RuntimeError at"),
        ("raise SystemExit(7)\n", "called exit(7)"),
    ],
)
async def test_a_plugin_failing_on_import_stops_run_with_exit_2_and_validate_with_a_row(
    tmp_path: Path, source: str, reason: str
) -> None:
    """A handler module raising SyntaxError, RuntimeError or SystemExit(7) on import: ``run``
    exits 2 naming the contract, the field and the reason (not a traceback, not a silent exit
    7), and ``validate`` lists it as an import problem and exits 1."""
    package = _node_package(tmp_path, source)
    config = _config(tmp_path, package)
    contract = package / "node_hostile_compute" / "contract.yaml"
    code, output = await _cli(tmp_path, "run", "--config", str(config))
    assert code == 2
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if line.startswith("configuration error"))
    assert str(contract) in line
    assert "handler_routing.handlers.0" in line
    assert reason in line
    code, output = await _cli(tmp_path, "validate", "--config", str(config))
    assert code == 1
    assert "Traceback" not in output
    assert any(
        str(contract) in row and "import" in row and reason in row for row in output.splitlines()
    )


async def test_unhashable_yaml_key_is_a_contract_problem_not_a_traceback(tmp_path: Path) -> None:
    """A contract with a list as a key: ``run`` exits 2 and ``validate`` exits 1, both naming
    the file and line, without a traceback."""
    package = _node_package(tmp_path, "class HandlerRtSquare: ...\n")
    contract = package / "node_hostile_compute" / "contract.yaml"
    contract.write_text(contract.read_text() + "? [a, b]\n: 1\n")
    config = _config(tmp_path, package)
    for command, expected in (("run", 2), ("validate", 1)):
        code, output = await _cli(tmp_path, command, "--config", str(config))
        assert code == expected
        assert "Traceback" not in output
        assert "found a list used as a key" in output
        assert str(contract) in output


async def test_symlinked_contract_directory_leaving_the_root_is_refused_by_run_and_validate(
    tmp_path: Path,
) -> None:
    """A symlinked node directory pointing outside the contract directories is refused with
    the link, its target and the fix (exit 2 from both), not skipped without a word."""
    package = _node_package(tmp_path, "class HandlerRtSquare: ...\n")
    root = tmp_path / "contracts"
    root.mkdir()
    (root / "node_linked").symlink_to(package / "node_hostile_compute", target_is_directory=True)
    config = _config(tmp_path, root)
    for command in ("run", "validate"):
        code, output = await _cli(tmp_path, command, "--config", str(config))
        assert code == 2
        assert "Traceback" not in output
        joined = " ".join(output.split())
        assert f"{root / 'node_linked'}: contract_dirs: is a symlink" in joined
        assert f"add {package / 'node_hostile_compute'} to contract_dirs" in joined


async def test_validate_on_a_bad_config_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """``validate`` with an invalid config says what is wrong in one line and exits 2 (it
    printed a traceback)."""
    config = tmp_path / "runtime.yaml"
    config.write_text("http: {port: -5}\n")
    code, output = await _cli(tmp_path, "validate", "--config", str(config))
    assert code == 2
    assert "Traceback" not in output
    assert "http.port" in output


async def test_validate_names_the_nodes_of_contract_dirs_and_warns_of_an_empty_one(
    tmp_path: Path,
) -> None:
    """``validate`` on a config with one node directory and one holding no contract: exit 0,
    the node named under ``from contract_dirs``, and a warning naming the empty entry (a
    wrong path otherwise loads nothing in silence)."""
    empty = tmp_path / "no-contracts-here"
    empty.mkdir()
    config = _config(tmp_path, DRAIN_DIR)
    values = yaml.safe_load(config.read_text())
    values["contract_dirs"].append(str(empty))
    config.write_text(yaml.safe_dump(values))
    code, output = await _cli(tmp_path, "validate", "--config", str(config))
    assert code == 0
    assert "from contract_dirs: rt_burst_orchestrator, rt_slow_effect" in output
    assert "no contract.yaml under this contract_dirs entry" in output
    assert str(empty) in output
