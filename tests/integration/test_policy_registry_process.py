"""Named policies through the CLI: a config registers them, a contract refers to one by
name@version, ``validate`` and ``policies list`` see it, and ``onex-infra run`` applies it
(the retry count of a failing effect is the policy's, in the attempts and the metrics)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from process_support import RuntimeProcess, spawned, write_config

from omnibase_infra.testing import eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")
TOPIC = "onex.cmd.poltest.work.v1"
_MODELS = '''"""The test command."""

from pydantic import BaseModel, ConfigDict


class ModelPolWork(BaseModel):
    """One unit of work."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    work_id: int
'''
_HANDLER = '''"""Always fails as a refused connection would, after noting the attempt in a file."""

import asyncio
import os
from pathlib import Path

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.errors import InfraConnectionError


def _note(path: Path) -> None:
    with path.open("a") as file:
        file.write("attempt\\n")


class HandlerPolFlaky:
    """Each call: one line in $POL_OUT/attempts.txt, then a retriable failure."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._file = Path(os.environ["POL_OUT"]) / "attempts.txt"

    async def handle(self, context: DispatchContext) -> None:
        """Note the attempt, then fail."""
        await asyncio.to_thread(_note, self._file)
        raise InfraConnectionError("downstream refused the connection")
'''
_NODE = '''"""The declarative node class of the flaky effect."""

from omnibase_infra._core import NodeEffect


class NodePolFlakyEffect(NodeEffect):
    """Flaky effect: see contract.yaml."""
'''
_POLICIES = {
    "definitions": [
        {
            "name": "quick-retry",
            "version": "1.0.0",
            "kind": "retry",
            "retry": {
                "max_retries": 2,
                "base_delay_seconds": 0.1,
                "max_delay_seconds": 1,
                "jitter_enabled": False,
            },
        },
        {
            "name": "tolerant-breaker",
            "version": "1.0.0",
            "kind": "circuit_breaker",
            "circuit_breaker": {"failure_threshold": 50, "minimum_request_threshold": 100},
        },
    ],
}
_TIMEOUT_FILE = {
    "policies": [
        {"name": "short", "version": "1.0.0", "kind": "timeout", "timeout": {"timeout_seconds": 5}},
        {
            "name": "two-deliveries",
            "version": "1.0.0",
            "kind": "routing",
            "routing": {
                "max_attempts": 2,
                "outage_budget_seconds": 0,
                "base_delay_seconds": 0.1,
                "max_delay_seconds": 0.2,
            },
        },
    ]
}


def _contract(retry_reference: str) -> dict[str, object]:
    version = {"major": 1, "minor": 0, "patch": 0}
    return {
        "name": "pol_flaky_effect",
        "contract_version": version,
        "description": "Fails every call.",
        "node_type": "EFFECT_GENERIC",
        "input_model": "poltest_nodes.models.ModelPolWork",
        "output_model": "poltest_nodes.models.ModelPolWork",
        "io_operations": [{"operation_type": "poltest.work"}],
        "event_bus": {"version": version, "subscribe_topics": [TOPIC]},
        "handler_routing": {
            "version": version,
            "handlers": [
                {
                    "handler": {
                        "name": "HandlerPolFlaky",
                        "module": "poltest_nodes.node_pol_flaky_effect.handler",
                    },
                    "event_model": {"name": "ModelPolWork", "module": "poltest_nodes.models"},
                    "topic": TOPIC,
                    "operation": "poltest.work",
                }
            ],
        },
        "error_handling": {
            "retry": {"policy": retry_reference},
            "circuit_breaker": {"policy": "tolerant-breaker@1"},
            "timeout": {"policy": "short@1"},
            "idempotency": {"enabled": False},
        },
    }


def _setup(
    tmp_path: Path, retry_reference: str = "quick-retry@1", **bus: object
) -> tuple[Path, Path, Path]:
    """Nodes package, policy file and config under ``tmp_path``: (config, contract, code root);
    ``bus``: more ``event_bus`` settings."""
    root = tmp_path / "code"
    package = root / "poltest_nodes"
    node = package / "node_pol_flaky_effect"
    node.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Policy test nodes."""\n')
    (package / "models.py").write_text(_MODELS)
    (node / "__init__.py").write_text('"""The flaky effect."""\n')
    (node / "handler.py").write_text(_HANDLER)
    (node / "node.py").write_text(_NODE)
    contract = node / "contract.yaml"
    contract.write_text(yaml.safe_dump(_contract(retry_reference), sort_keys=False))
    policy_file = tmp_path / "timeouts.yaml"
    policy_file.write_text(yaml.safe_dump(_TIMEOUT_FILE))
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "use_entry_points": False,
            "contract_dirs": [str(package)],
            "plugin_allowlist": ["poltest_nodes"],
            "postgres": {"mode": "disabled"},
            "event_bus": bus or {"retry": None},
            "policies": {**_POLICIES, "files": [str(policy_file)]},
        },
    )
    return config, contract, root


async def _cli(root: Path, *args: str) -> tuple[int, str]:
    """``onex-infra ARGS`` with the test nodes importable; exit code and stdout+stderr."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "500", "HOME": str(root)}
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    async with asyncio.timeout(120):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_validate_and_policies_list_show_the_registered_policies(tmp_path: Path) -> None:
    """``validate`` accepts a contract referring to YAML-defined policies and ``policies list``
    shows each name@version with its source, hash and the contract field that uses it."""
    config, _, root = _setup(tmp_path)
    code, output = await _cli(root, "validate", "--config", str(config))
    assert code == 0, output
    code, output = await _cli(root, "policies", "list", "--config", str(config), "-o", "json")
    assert code == 0, output
    rows = {row["policy"]: row for row in yaml.safe_load(output)}
    assert set(rows) == {
        "quick-retry@1.0.0",
        "tolerant-breaker@1.0.0",
        "short@1.0.0",
        "two-deliveries@1.0.0",
    }
    assert rows["quick-retry@1.0.0"]["used_by"] == ["pol_flaky_effect (error_handling.retry)"]
    assert rows["quick-retry@1.0.0"]["source"] == str(config)
    assert rows["short@1.0.0"]["source"] == str(tmp_path / "timeouts.yaml")
    assert rows["quick-retry@1.0.0"]["settings"]["max_retries"] == 2
    assert len(rows["short@1.0.0"]["sha256"]) == 64


async def test_unknown_reference_fails_validate_and_run_naming_file_and_field(
    tmp_path: Path,
) -> None:
    """A contract naming an unregistered policy version is a validate problem (exit 1) and stops
    ``run`` (exit 2), both naming the contract file and error_handling.retry.policy."""
    config, contract, root = _setup(tmp_path, retry_reference="quick-retry@2")
    code, output = await _cli(root, "validate", "--config", str(config))
    assert code == 1
    flat = " ".join(output.split())
    assert str(contract) in flat
    assert "error_handling.retry.policy" in flat
    assert "unknown policy quick-retry@2" in flat
    code, output = await _cli(root, "run", "--config", str(config), "--http-port", "0")
    assert code == 2
    flat = " ".join(output.split())
    assert f"{contract}: error_handling.retry.policy: unknown policy quick-retry@2" in flat


async def _dead_letter_one(runtime: RuntimeProcess) -> str:
    """Send one command that the flaky effect fails; wait until it is dead-lettered; the
    metrics page then."""
    warning = await runtime.until_logged("ingress without authentication: bound to loopback only")
    async with httpx.AsyncClient(base_url=str(warning["url"]), trust_env=False) as client:
        reply = await client.post(
            f"/v1/events/{TOPIC}", params={"payload_type": "ModelPolWork"}, json={"work_id": 1}
        )
    assert reply.status_code == 202
    hub = f"http://127.0.0.1:{runtime.port}"
    async with httpx.AsyncClient(base_url=hub, trust_env=False) as client:

        async def dead_lettered() -> bool:
            text = (await client.get("/metrics")).text
            return any(
                line.startswith("onex_dispatch_dead_lettered_total{")
                and TOPIC in line
                and not line.endswith(" 0.0")
                for line in text.splitlines()
            )

        await eventually(dead_lettered, "the failing command to be dead-lettered")
        return (await client.get("/metrics")).text


async def test_run_applies_the_referenced_retry_policy(tmp_path: Path) -> None:
    """``run`` logs each policy registration once and retries a failing effect exactly as the
    referenced policy says (1 + max_retries attempts, in the handler's file and the metrics)
    before the message is dead-lettered."""
    config, _, root = _setup(tmp_path)
    out = tmp_path / "out"
    async with spawned(config, out, PYTHONPATH=str(root), POL_OUT=str(out)) as runtime:
        await runtime.until_ready()
        registered = runtime.events("policy registered")
        assert sorted(str(line["policy"]) for line in registered) == [
            "quick-retry",
            "short",
            "tolerant-breaker",
            "two-deliveries",
        ]
        assert all(len(str(line["sha256"])) == 64 for line in registered)
        metrics = await _dead_letter_one(runtime)
        runtime.signal()
        assert await runtime.exit_code() == 0
    attempts = (out / "attempts.txt").read_text().splitlines()
    assert len(attempts) == 3  # quick-retry@1.0.0: max_retries 2
    assert 'onex_effect_attempts_total{effect="pol_flaky_effect"} 3.0' in metrics


async def test_run_routes_failed_messages_by_the_referenced_routing_policy(
    tmp_path: Path,
) -> None:
    """With ``event_bus.retry_policy`` naming a routing policy of 2 deliveries, the failing
    command is delivered twice (each under the effect's 3 attempts) before the DLQ."""
    config, _, root = _setup(tmp_path, retry_policy="two-deliveries@1")
    out = tmp_path / "out"
    async with spawned(config, out, PYTHONPATH=str(root), POL_OUT=str(out)) as runtime:
        await runtime.until_ready()
        metrics = await _dead_letter_one(runtime)
        runtime.signal()
        assert await runtime.exit_code() == 0
    attempts = (out / "attempts.txt").read_text().splitlines()
    assert len(attempts) == 6  # two deliveries x (1 + quick-retry's max_retries 2)
    assert 'onex_effect_attempts_total{effect="pol_flaky_effect"} 6.0' in metrics
    assert 'reason="attempts_exhausted"' in metrics
