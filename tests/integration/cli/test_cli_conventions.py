"""What every ``onex-infra`` command does the same way, run as a user runs it (the installed
command): ``--version``, quiet logs unless ``-v``, ``-o json`` on stdout alone, and one line
with a non-zero exit for a failure no command foresaw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]

CLI = str(Path(sys.executable).parent / "onex-infra")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"}
    env.pop("ONEX_CONFIG", None)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    """`--version` prints the version the package was installed with and exits 0."""
    result = _cli(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"onex-infra {version('omnibase_infra')}"


def test_list_as_json_is_one_document_on_stdout_and_logs_stay_quiet(tmp_path: Path) -> None:
    """`contracts list -o json` prints parseable JSON and nothing on stderr; `-v` adds logs."""
    quiet = _cli(tmp_path, "contracts", "list", "-o", "json")
    assert quiet.returncode == 0, quiet.stderr
    nodes = {entry["node"]: entry for entry in json.loads(quiet.stdout)}
    orchestrator = nodes["node_registration_orchestrator"]
    assert orchestrator["archetype"] == "orchestrator"
    assert orchestrator["subscribes"]
    assert quiet.stderr == ""
    verbose = _cli(tmp_path, "-v", "contracts", "list", "-o", "json")
    assert json.loads(verbose.stdout) == json.loads(quiet.stdout)
    logged = [json.loads(line) for line in verbose.stderr.splitlines()]
    # core's own node entry points are skipped with an info line: shown only with -v
    assert any("plugin_allowlist" in line["event"] for line in logged)


def test_an_unforeseen_failure_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """An error no command handles (a malformed hub URL) ends in one stderr line, exit 1, and
    the traceback only with `-v`."""
    result = _cli(tmp_path, "registry", "list", "--hub", "http://[::1")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    verbose = _cli(tmp_path, "-v", "registry", "list", "--hub", "http://[::1")
    assert verbose.returncode == 1
    assert "Traceback" in verbose.stderr or "exception" in verbose.stderr


def test_config_show_merges_file_and_variables_and_masks_secrets(tmp_path: Path) -> None:
    """`config show -o json` is the file plus ONEX_* variables over defaults, secrets masked."""
    config = tmp_path / "runtime.yaml"
    config.write_text(
        "http: {port: 9001}\n"
        "event_bus: {kafka: {sasl_username: app, sasl_password: canary-pw-31337}}\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "ONEX_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [CLI, "config", "show", "--config", str(config), "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["http"]["port"] == 9001
    assert shown["log_level"] == "WARNING"
    assert shown["event_bus"]["kind"] == "inmemory"
    assert "canary-pw-31337" not in result.stdout + result.stderr
