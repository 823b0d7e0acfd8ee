"""The ingress of ``onex-infra run`` as a real process: a taken port and an open bind without
auth stop the start with a clear message; a zero-config ingress says it has no auth and
accepts events."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from test_runtime_process import _drain_config, _run_once, running_runtime

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_run_on_a_taken_ingress_port_exits_1_naming_port_and_setting(
    tmp_path: Path,
) -> None:
    """``run`` whose ingress port is taken exits 1 with one line naming the address and the
    setting to change (no traceback)."""
    config = _drain_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await _run_once(
            tmp_path, "--config", str(config), ONEX_INGRESS__PORT=str(port)
        )
    assert code == 1
    line = " ".join(output.split())
    assert f"cannot start: cannot bind the ingress to 127.0.0.1:{port}" in line
    assert "ingress.port" in line
    assert "Traceback" not in output


async def test_run_refuses_an_open_ingress_without_auth(tmp_path: Path) -> None:
    """An ingress bound beyond loopback without ingress.auth is a configuration error at
    start (exit 2) naming the setting."""
    config = _drain_config(tmp_path, ingress={"host": "0.0.0.0"})
    code, output = await _run_once(tmp_path, "--config", str(config))
    assert code == 2
    line = " ".join(output.split())
    assert "ingress.host '0.0.0.0' is not a loopback address" in line
    assert "ingress.auth" in line


async def test_run_serves_the_ingress_and_says_it_has_no_auth(tmp_path: Path) -> None:
    """A ``run`` without ingress.auth logs that its ingress is loopback-only and unauthenticated,
    and accepts an event POSTed to it."""
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config) as runtime:
        (warning,) = runtime.events("ingress without authentication: bound to loopback only")
        url = str(warning["url"])
        async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
            reply = await client.post(
                "/v1/events/onex.evt.outside.hello.v1",
                params={"payload_type": "ModelHello"},
                json={"hello": "world"},
            )
        runtime.signal()
        assert await runtime.exit_code() == 0
    assert reply.status_code == 202
    assert url.startswith("http://127.0.0.1:")


async def test_run_refuses_a_payload_type_no_node_takes_naming_the_taken_ones(
    tmp_path: Path,
) -> None:
    """On the local profile the ingress answers 422 for a payload type that no node of the
    runtime takes on the topic (it would only reach the DLQ), naming the types that are taken,
    and still accepts the taken type."""
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config, RTEST_BURST="0", RTEST_DELAY="0") as runtime:
        (warning,) = runtime.events("ingress without authentication: bound to loopback only")
        async with httpx.AsyncClient(base_url=str(warning["url"]), trust_env=False) as client:
            wrong = await client.post(
                "/v1/events/onex.cmd.rtest.slow-work.v1",
                params={"payload_type": "ModelRtSlowWrok"},
                json={"work_id": 1, "key": "a"},
            )
            taken = await client.post(
                "/v1/events/onex.cmd.rtest.slow-work.v1",
                params={"payload_type": "ModelRtSlowWork"},
                json={"work_id": 1, "key": "a"},
            )
        runtime.signal()
        assert await runtime.exit_code() == 0
    assert taken.status_code == 202
    assert wrong.status_code == 422
    (detail,) = wrong.json()["detail"]
    assert detail["loc"] == ["query", "payload_type"]
    assert "it takes ModelRtSlowWork" in detail["msg"]
    assert not runtime.events("message dead-lettered")
