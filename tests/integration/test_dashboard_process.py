"""The dashboard of ``onex-infra run`` as a real process: a taken port and a bind beyond
loopback stop the start naming the setting; ``enabled: false`` serves no dashboard."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from test_runtime_process import _drain_config, _run_once, running_runtime

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_run_on_a_taken_dashboard_port_exits_1_naming_port_and_setting(
    tmp_path: Path,
) -> None:
    """``run`` whose dashboard port is taken exits 1 with one line naming the address and
    ``dashboard.port`` (no traceback)."""
    config = _drain_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await _run_once(
            tmp_path, "--config", str(config), ONEX_DASHBOARD__PORT=str(port)
        )
    assert code == 1
    line = " ".join(output.split())
    assert f"cannot bind the dashboard to 127.0.0.1:{port}" in line
    assert "dashboard.port" in line
    assert "Traceback" not in output


async def test_run_refuses_a_dashboard_beyond_loopback(tmp_path: Path) -> None:
    """A dashboard host that is not loopback is a configuration error at start (exit 2)."""
    config = _drain_config(tmp_path, dashboard={"host": "0.0.0.0"})
    code, output = await _run_once(tmp_path, "--config", str(config))
    assert code == 2
    assert "dashboard.host '0.0.0.0' is not a loopback address" in " ".join(output.split())


async def test_run_with_the_dashboard_disabled_serves_none(tmp_path: Path) -> None:
    """``dashboard.enabled: false`` on the local profile: the runtime starts and logs no
    dashboard; the default (unset) logs one."""
    config = _drain_config(tmp_path, dashboard={"enabled": False})
    async with running_runtime(tmp_path, config) as runtime:
        assert runtime.events("dashboard listening") == []
    async with running_runtime(tmp_path, _drain_config(tmp_path)) as runtime:
        assert len(runtime.events("dashboard listening")) == 1
