"""Dependencies down at start and the health monitor, through ``onex-infra run``.

A runtime whose PostgreSQL is down at start serves ``/ready`` 503 naming it and connects once
it is up (``startup: degraded``, the default); ``startup: fail_fast`` exits 1 with one line.
The health monitor (``node_infrastructure_health_monitor_orchestrator``) publishes a
health-changed event when Valkey stops and again when it is back, recorded by a test node
subscribed to the topic. A Vault (OpenBao) down at start is waited for, named by /ready.
Real servers: PostgreSQL 18 (embedded), Valkey, OpenBao.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from process_support import CLI, ModelProbe, runtime_env, spawned, write_config
from runtime_support import ALLOWLIST
from runtime_testnodes import HEALTH_DIR
from runtime_testnodes.files import read_lines

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.testing import eventually, free_port
from omnibase_infra.testing.servers.openbao import OpenBaoServer
from omnibase_infra.testing.servers.valkey import ValkeyServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_MONITOR = {"interval_seconds": 0.2, "failure_threshold": 1, "open_seconds": 10}


def _check(probe: ModelProbe, name: str) -> dict[str, object] | None:
    """The ``/ready`` check named ``name`` in ``probe``, if any."""
    body = probe.ready_body or {}
    checks = body.get("checks")
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and check.get("name") == name:
            return check
    return None


def _failing(name: str, detail: str = "") -> Callable[[ModelProbe], bool]:
    """Whether the started runtime's /ready is 503 with ``name`` failing (detail prefix)."""

    def done(probe: ModelProbe) -> bool:
        check = _check(probe, name) or {}
        return (
            probe.ready == 503
            and (probe.ready_body or {}).get("status") == "not ready"
            and check.get("healthy") is False
            and str(check.get("detail")).startswith(detail)
        )

    return done


async def test_postgres_down_at_start_is_named_by_ready_then_connected_and_registers(
    tmp_path: Path, postgres_base_dir: Path
) -> None:
    """With PostgreSQL down at start the runtime serves /ready 503 naming postgres, and once
    PostgreSQL is started it becomes ready and a node's introspection is registered."""
    server = EmbeddedPostgres(postgres_base_dir, fast=True)
    await server.start()  # learns its port and password, then goes down
    dsn = server.dsn("postgres")
    await server.stop()
    try:
        config = write_config(
            tmp_path / "runtime.yaml",
            {
                "postgres": {"mode": "external", "dsn": "env://RTEST_DSN"},
                "nodes": {"health_monitor": _MONITOR},
            },
        )
        async with spawned(config, tmp_path / "out", RTEST_DSN=dsn) as runtime:
            probe = await runtime.until(
                _failing("postgres", "down at start"), "/ready 503 naming postgres"
            )
            detail = str((_check(probe, "postgres") or {}).get("detail"))
            assert server.password.get_secret_value() not in detail
            await server.start()  # same data directory, same port
            await runtime.until_ready()
            node_id = str(uuid4())
            (ingress,) = runtime.events("ingress without authentication: bound to loopback only")
            async with httpx.AsyncClient(base_url=str(ingress["url"]), trust_env=False) as client:
                reply = await client.post(
                    "/v1/events/onex.evt.platform.node-introspection.v1",
                    params={"payload_type": "ModelNodeIntrospectionEvent"},
                    json={
                        "node_id": node_id,
                        "node_type": "effect",
                        "node_name": "node_after_outage_effect",
                        "node_version": "1.0.0",
                        "declared_capabilities": {},
                        "timestamp": datetime.now(UTC).isoformat(),
                    },
                )
                assert reply.status_code == 202, reply.text
            hub = f"http://127.0.0.1:{runtime.port}"
            async with httpx.AsyncClient(base_url=hub, trust_env=False) as client:

                async def registered() -> bool:
                    listing = (await client.get("/registry")).text
                    return node_id in listing

                await eventually(registered, timeout=60.0, what="the node registered")
            assert runtime.events("dependency connected")
    finally:
        await server.stop()


async def test_fail_fast_exits_1_with_one_line_naming_postgres(tmp_path: Path) -> None:
    """``startup: fail_fast`` with PostgreSQL unreachable stops the start: exit 1 and one
    ``cannot start`` line naming PostgreSQL, no traceback."""
    dsn = f"postgresql://nobody:secret-pw@127.0.0.1:{free_port()}/none"
    config = write_config(
        tmp_path / "runtime.yaml",
        {"startup": "fail_fast", "postgres": {"mode": "external", "dsn": "env://RTEST_DSN"}},
    )
    process = await asyncio.create_subprocess_exec(
        CLI,
        "run",
        "--config",
        str(config),
        "--http-port",
        "0",
        "--log-format",
        "json",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=runtime_env(tmp_path, RTEST_DSN=dsn),
    )
    async with asyncio.timeout(120):
        _, err = await process.communicate()
    assert process.returncode == 1
    text = err.decode()
    plain = [line for line in text.splitlines() if line and not line.startswith("{")]
    assert len(plain) == 1, text
    assert plain[0].startswith("cannot start:")
    assert "postgres" in plain[0].lower()
    assert "secret-pw" not in text
    assert "Traceback" not in text


async def test_monitor_publishes_health_changed_when_valkey_stops_and_comes_back(
    tmp_path: Path, valkey_server_fresh: ValkeyServer
) -> None:
    """The health monitor publishes a dependency-health-changed event (healthy false) on the
    bus when Valkey stops, and another (healthy true) when it is back; /ready follows."""
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "disabled"},
            "contract_dirs": [str(HEALTH_DIR)],
            "plugin_allowlist": [ALLOWLIST],
            "valkey": {"host": valkey_server_fresh.host, "port": valkey_server_fresh.port},
            "nodes": {"health_monitor": _MONITOR},
        },
    )

    def valkey_events() -> list[dict[str, object]]:
        events = [json.loads(line) for line in read_lines(out, "health.txt")]
        return [event for event in events if event["dependency"] == "valkey"]

    async with spawned(config, out) as runtime:
        await runtime.until_ready()
        valkey_server_fresh.stop()
        await eventually(
            lambda: any(e["healthy"] is False for e in valkey_events()),
            timeout=60.0,
            what="a valkey unhealthy event",
        )
        await runtime.until(_failing("valkey"), "/ready 503 naming valkey")
        await asyncio.to_thread(valkey_server_fresh.start_again)
        await eventually(
            lambda: any(e["healthy"] is True for e in valkey_events()),
            timeout=60.0,
            what="a valkey healthy-again event",
        )
        await runtime.until_ready()
        down, up = (
            next(e for e in valkey_events() if e["healthy"] is False),
            next(e for e in valkey_events() if e["healthy"] is True),
        )
        assert down["previous_healthy"] is True
        assert up["previous_healthy"] is False
        assert up["breaker_state"] == "closed"


async def test_vault_down_at_start_is_waited_for_and_named_by_ready(
    tmp_path: Path, openbao_server_fresh: OpenBaoServer
) -> None:
    """With Vault down at start the start waits for it, /ready answering 503 with pending
    naming vault; once OpenBao is back the runtime becomes ready."""
    openbao_server_fresh.stop()
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "disabled"},
            "vault": {"url": openbao_server_fresh.url, "token": "env://RTEST_VAULT_TOKEN"},
        },
    )
    token = openbao_server_fresh.root_token.get_secret_value()
    async with spawned(config, tmp_path / "out", RTEST_VAULT_TOKEN=token) as runtime:

        def waits_for_vault(probe: ModelProbe) -> bool:
            pending = (probe.ready_body or {}).get("pending")
            return probe.ready == 503 and "vault" in " ".join(
                pending if isinstance(pending, list) else []
            )

        await runtime.until(waits_for_vault, "/ready 503 pending vault")
        await runtime.until_logged("vault down at start, waiting for it")
        await asyncio.to_thread(openbao_server_fresh.start_again)
        await runtime.until_ready()
        assert token not in json.dumps(runtime.lines)
