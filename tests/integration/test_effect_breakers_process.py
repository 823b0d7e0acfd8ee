"""An EFFECT node's circuit breaker seen in one place, through ``onex-infra run``.

With OpenBao stopped, commands to ``node_vault_adapter_effect`` fail under its contract's
policy until the executor's breaker opens; the breaker shows as open on ``/metrics``
(``onex_circuit_breaker_state``), on the dashboard's breaker panel (``/api/snapshot``), in the
health monitor's ``/ready`` check and as a health-changed event naming the effect (recorded by
a test node subscribed to the topic). With OpenBao back, the next admitted command closes it,
and all four say so. Two effects whose contracts name one dependency each keep their own
breaker, and both are shown (by dependency and node). Real server: OpenBao (dev mode).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from process_support import RuntimeProcess, spawned, write_config
from runtime_support import ALLOWLIST
from runtime_testnodes import HEALTH_DIR, SHARED_BREAKER_DIR
from runtime_testnodes.files import read_lines

from omnibase_infra.testing import eventually
from omnibase_infra.testing.servers.openbao import OpenBaoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EFFECT = "node_vault_adapter_effect"
COMMAND = "/v1/events/onex.cmd.vault-adapter.kv.v1"


def _effect_events(out: Path) -> list[dict[str, object]]:
    """The health-changed events the recorder node wrote that name the vault effect."""
    events = [json.loads(line) for line in read_lines(out, "health.txt")]
    return [event for event in events if event.get("effect") == EFFECT]


def _url(runtime: RuntimeProcess, event: str) -> str:
    (line,) = runtime.events(event)
    return str(line["url"]).rstrip("/")


async def _state_everywhere(
    runtime: RuntimeProcess, ingress: str, dashboard: str, state: str, value: str
) -> None:
    """Send reads until /metrics shows the effect's breaker in ``state`` (gauge ``value``),
    then check the dashboard and /ready's health_monitor check agree."""
    hub = f"http://127.0.0.1:{runtime.port}"
    gauge = f'onex_circuit_breaker_state{{dependency="{EFFECT}",node="{EFFECT}"}} {value}'
    async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:

        async def shown() -> bool:
            command = {"action": "read", "path": "onex/breaker/probe"}
            reply = await client.post(
                ingress + COMMAND, params={"payload_type": "ModelVaultKvCommand"}, json=command
            )
            assert reply.status_code == 202, reply.text
            await asyncio.sleep(0.5)
            return gauge in (await client.get(hub + "/metrics")).text

        await eventually(shown, timeout=90.0, what=f"{EFFECT}'s breaker {state} on /metrics")
        snapshot = (await client.get(dashboard + "/api/snapshot")).json()
        assert snapshot["breakers"][EFFECT] == state

        async def in_ready() -> bool:
            checks = (await client.get(hub + "/ready")).json()["checks"]
            (monitor,) = [check for check in checks if check["name"] == "health_monitor"]
            return f"effect breakers: {EFFECT} {state}" in str(monitor["detail"])

        await eventually(in_ready, timeout=30.0, what=f"/ready naming {EFFECT} {state}")


async def test_an_effect_breaker_opened_by_a_stopped_server_shows_everywhere_then_closes(
    tmp_path: Path, openbao_server_fresh: OpenBaoServer
) -> None:
    """OpenBao stopped: the vault adapter's breaker is open on /metrics, the dashboard, /ready
    and in a health-changed event naming the effect; OpenBao back: closed in all four."""
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "disabled"},
            "contract_dirs": [str(HEALTH_DIR)],
            "plugin_allowlist": [ALLOWLIST],
            "vault": {"url": openbao_server_fresh.url, "token": "env://RTEST_VAULT_TOKEN"},
            "nodes": {"health_monitor": {"interval_seconds": 0.2, "failure_threshold": 1}},
        },
    )
    token = openbao_server_fresh.root_token.get_secret_value()
    async with spawned(config, out, RTEST_VAULT_TOKEN=token) as runtime:
        await runtime.until_ready()
        ingress = _url(runtime, "ingress without authentication: bound to loopback only")
        dashboard = _url(runtime, "dashboard listening")
        openbao_server_fresh.stop()
        await _state_everywhere(runtime, ingress, dashboard, "open", "2.0")
        await eventually(
            lambda: any(e["breaker_state"] == "open" for e in _effect_events(out)),
            timeout=30.0,
            what="a health-changed event of the effect's open breaker",
        )
        opened = next(e for e in _effect_events(out) if e["breaker_state"] == "open")
        assert (opened["dependency"], opened["healthy"]) == (EFFECT, False)
        await asyncio.to_thread(openbao_server_fresh.start_again)
        await _state_everywhere(runtime, ingress, dashboard, "closed", "0.0")
        await eventually(
            lambda: any(e["breaker_state"] == "closed" for e in _effect_events(out)),
            timeout=30.0,
            what="a health-changed event of the effect's closed breaker",
        )
        closed = next(e for e in _effect_events(out) if e["breaker_state"] == "closed")
        assert closed["healthy"] is True
        assert closed["previous_breaker_state"] in ("open", "half_open")
        assert token not in json.dumps(runtime.lines)


SHARED = ("rt_shared_a_effect", "rt_shared_b_effect")


async def test_two_effects_sharing_a_dependency_each_show_their_breaker(
    tmp_path: Path, openbao_server_fresh: OpenBaoServer
) -> None:
    """Two effects naming one service_name, OpenBao stopped: both breakers are open on
    /metrics (one series per node), on the dashboard and in /ready, not only the first."""
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "disabled"},
            "contract_dirs": [str(SHARED_BREAKER_DIR)],
            "plugin_allowlist": [ALLOWLIST],
            "vault": {"url": openbao_server_fresh.url, "token": "env://RTEST_VAULT_TOKEN"},
            "nodes": {"health_monitor": {"interval_seconds": 0.2}},
        },
    )
    token = openbao_server_fresh.root_token.get_secret_value()
    async with spawned(config, tmp_path / "out", RTEST_VAULT_TOKEN=token) as runtime:
        await runtime.until_ready()
        ingress = _url(runtime, "ingress without authentication: bound to loopback only")
        dashboard = _url(runtime, "dashboard listening")
        hub = f"http://127.0.0.1:{runtime.port}"
        openbao_server_fresh.stop()
        gauges = [
            f'onex_circuit_breaker_state{{dependency="rtest-vault",node="{node}"}} 2.0'
            for node in SHARED
        ]
        async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:

            async def both_open() -> bool:
                for work_id, node in enumerate(SHARED):
                    topic = "/v1/events/onex.cmd.rtest.shared-" + node.split("_")[2] + ".v1"
                    reply = await client.post(
                        ingress + topic,
                        params={"payload_type": "ModelRtSlowWork"},
                        json={"work_id": work_id, "key": "k"},
                    )
                    assert reply.status_code == 202, reply.text
                await asyncio.sleep(0.5)
                metrics = (await client.get(hub + "/metrics")).text
                return all(gauge in metrics for gauge in gauges)

            await eventually(both_open, timeout=90.0, what="both shared breakers open on /metrics")
            snapshot = (await client.get(dashboard + "/api/snapshot")).json()
            for node in SHARED:
                assert snapshot["breakers"][f"rtest-vault ({node})"] == "open"

            async def in_ready() -> bool:
                checks = (await client.get(hub + "/ready")).json()["checks"]
                (monitor,) = [check for check in checks if check["name"] == "health_monitor"]
                detail = str(monitor["detail"])
                return all(f"rtest-vault ({node}) open" in detail for node in SHARED)

            await eventually(in_ready, timeout=30.0, what="/ready naming both shared breakers")
