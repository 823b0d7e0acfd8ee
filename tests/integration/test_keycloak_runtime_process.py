"""``onex-infra run`` with a ``keycloak:`` section: the runtime builds the Keycloak handler from
the config file (its client secret an ``env://`` reference), starts it, ``/ready`` pings it, and
the Keycloak adapter node is loaded; without the section the node is left out, naming why."""

from __future__ import annotations

from pathlib import Path

import pytest
from process_support import RuntimeProcess, spawned, write_config

from omnibase_infra.testing.fixtures.oidc import KeycloakTarget

pytestmark = pytest.mark.integration

SECRET_VARIABLE = "ONEX_TEST_KEYCLOAK_CLIENT_SECRET"
NODE = "node_keycloak_adapter_effect"


def _left_out(runtime: RuntimeProcess) -> dict[object, object]:
    return {line.get("node"): line.get("reason") for line in runtime.events("node left out")}


def _routes(runtime: RuntimeProcess) -> int:
    (ready,) = runtime.events("runtime ready")
    routes = ready["routes"]
    assert isinstance(routes, int)
    return routes


async def _ready(config: Path, out: Path, **env: str) -> RuntimeProcess:
    async with spawned(config, out, **env) as runtime:
        await runtime.until_ready()
        await runtime.until_logged("runtime ready")
        runtime.signal()
        assert await runtime.exit_code() == 0
    return runtime


async def test_a_keycloak_section_is_owned_by_the_runtime_and_loads_the_node(
    tmp_path: Path, keycloak_target: KeycloakTarget
) -> None:
    """With the section, /ready answers 200 with a healthy keycloak check, the handler is
    started, and the node adds its four routes; without it, the node is left out."""
    section = {
        "issuer_url": keycloak_target.issuer,
        "client_id": keycloak_target.client_id,
        "client_secret": f"env://{SECRET_VARIABLE}",
    }
    with_keycloak = write_config(
        tmp_path / "with.yaml", {"postgres": {"mode": "disabled"}, "keycloak": section}
    )
    secret = keycloak_target.client_secret.get_secret_value()
    configured = await _ready(with_keycloak, tmp_path / "with", **{SECRET_VARIABLE: secret})
    body = configured.probes[-1].ready_body or {}
    checks = {str(c["name"]): c["healthy"] for c in body.get("checks", []) if isinstance(c, dict)}
    assert checks.get("keycloak") is True
    (started,) = [line for line in configured.events("boot phase") if line["phase"] == "handlers"]
    assert "keycloak" in str(started["handlers"])
    assert NODE not in _left_out(configured)
    assert secret not in str(configured.lines)

    without = write_config(tmp_path / "without.yaml", {"postgres": {"mode": "disabled"}})
    bare = await _ready(without, tmp_path / "without")
    assert _left_out(bare)[NODE] == "keycloak is not configured"
    assert _routes(configured) - _routes(bare) == 4
