"""node_keycloak_adapter_effect through a runtime built from a config with a ``keycloak:``
section (its client secret an ``env://`` reference): commands in on the cmd topics, results
and failures out as evt topics. Role commands run against the fake Keycloak's documented admin
API (or a real Keycloak with ``KEYCLOAK_URL``), token validation against oidc-provider-mock."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
import pytest_asyncio
import yaml
from pydantic import JsonValue, SecretStr

from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_issue_client_token import (
    ModelKeycloakIssueClientToken,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_lookup import (
    ModelKeycloakRoleLookup,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_mapping import (
    ModelKeycloakRoleMapping,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_validate_token import (
    ModelKeycloakValidateToken,
)
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.resilience.idempotency.store_memory import IdempotencyStoreInmemory
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure
from omnibase_infra.testing import FakeKeycloakServer, OidcProviderServer
from omnibase_infra.testing.adapter_host import AdapterHarness, adapter_config
from omnibase_infra.testing.fixtures.oidc import KeycloakTarget

pytestmark = pytest.mark.integration

PACKAGED = Path(__file__).parents[4] / "src/omnibase_infra/nodes/node_keycloak_adapter_effect"
VALIDATE = "onex.cmd.keycloak-adapter.validate-token.v1"
CLIENT_TOKEN = "onex.cmd.keycloak-adapter.client-token.v1"
LOOKUP = "onex.cmd.keycloak-adapter.role-lookup.v1"
MAPPING = "onex.cmd.keycloak-adapter.role-mapping.v1"
VALIDATED = "onex.evt.keycloak-adapter.token-validated.v1"
REJECTED = "onex.evt.keycloak-adapter.token-rejected.v1"
ISSUED = "onex.evt.keycloak-adapter.client-token-issued.v1"
FOUND = "onex.evt.keycloak-adapter.roles-found.v1"
CHANGED = "onex.evt.keycloak-adapter.role-mapping-changed.v1"
FAILED = "onex.evt.keycloak-adapter.action-failed.v1"
RESULTS = (VALIDATED, REJECTED, ISSUED, FOUND, CHANGED, FAILED)
SECRET_VARIABLE = "ONEX_TEST_KEYCLOAK_CLIENT_SECRET"
OIDC_CLIENT = "onex-web"


def _contract_dir(tmp_path: Path, target_client: str) -> Path:
    """The packaged contract allowed to name the test realm's client, to change its "writer"
    role (besides the "onex-" roles) and to ask for one scope."""
    data = yaml.safe_load((PACKAGED / "contract.yaml").read_text())
    data["handler_config"]["client_ids"] = [target_client]
    data["handler_config"]["role_prefixes"] = ["onex-", "writer"]
    data["handler_config"]["scopes"] = ["email"]
    directory = tmp_path / f"node_keycloak_adapter_effect_{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    (directory / "contract.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


async def _runtime(
    contract_dir: Path, keycloak: dict[str, JsonValue]
) -> AsyncIterator[AdapterHarness]:
    """The runtime as ``onex-infra run`` builds it from the config: infrastructure (the
    keycloak section's handler), then the host on its handlers, services and exclusions."""
    config = adapter_config([contract_dir], keycloak=keycloak)
    async with build_infrastructure(config) as infra:
        services: dict[type[object], object] = {
            ProtocolIdempotencyStore: IdempotencyStoreInmemory()
        }
        services.update(infra.services)
        host = RuntimeHostProcess(
            config, handlers=infra.handlers, services=services, exclude_nodes=infra.exclude_nodes
        )
        await host.start()
        try:
            harness = AdapterHarness(host)
            await harness.watch(*RESULTS)
            yield harness
        finally:
            await host.stop()


@pytest_asyncio.fixture
async def keycloak_node(
    tmp_path: Path, keycloak_target: KeycloakTarget, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AdapterHarness]:
    """The node on a runtime whose keycloak section names the admin client of the test realm."""
    monkeypatch.setenv(SECRET_VARIABLE, keycloak_target.client_secret.get_secret_value())
    section: dict[str, JsonValue] = {
        "issuer_url": keycloak_target.issuer,
        "client_id": keycloak_target.client_id,
        "client_secret": f"env://{SECRET_VARIABLE}",
    }
    async for harness in _runtime(_contract_dir(tmp_path, keycloak_target.role_client_id), section):
        yield harness


@pytest_asyncio.fixture
async def validating_node(
    tmp_path: Path, oidc_provider: OidcProviderServer
) -> AsyncIterator[AdapterHarness]:
    """The node on a runtime whose keycloak section names the real OIDC provider."""
    section: dict[str, JsonValue] = {"issuer_url": oidc_provider.issuer, "audience": [OIDC_CLIENT]}
    async for harness in _runtime(_contract_dir(tmp_path, "unused"), section):
        yield harness


async def _user_id(node: AdapterHarness, target: KeycloakTarget) -> str:
    handler = node.host.container.get_service(HandlerKeycloak)
    user_id = await handler.admin.find_user_id(target.username)
    assert user_id is not None
    return user_id


def _names(reply_roles: JsonValue) -> set[str]:
    assert isinstance(reply_roles, list)
    return {str(role["name"]) for role in reply_roles if isinstance(role, dict)}


async def test_the_runtime_owns_the_configured_handler(
    keycloak_node: AdapterHarness,
) -> None:
    """The keycloak section's handler is started by the runtime, in its container, pinged by
    its readiness (healthy), and closed at stop."""
    host = keycloak_node.host
    handler = host.container.get_service(HandlerKeycloak)
    assert handler in host.handlers
    report = await host.readiness()
    checks = {check.name: check.healthy for check in report.checks}
    assert checks.get("keycloak") is True
    assert report.ready is True
    await host.stop()
    assert handler._client is None  # closed


async def test_roles_are_assigned_looked_up_and_removed_by_command(
    keycloak_node: AdapterHarness, keycloak_target: KeycloakTarget
) -> None:
    """An assign command answers with the roles granted, a user lookup finds them, a remove
    command takes them away, and the next lookup no longer finds them."""
    user_id = await _user_id(keycloak_node, keycloak_target)
    role = keycloak_target.realm_roles[1]
    assigned = await keycloak_node.request(
        MAPPING, ModelKeycloakRoleMapping(change="assign", user_id=user_id, roles=(role,))
    )
    assert assigned.topic == CHANGED
    assert assigned.get("roles") == [role]
    lookup = ModelKeycloakRoleLookup(lookup="user_realm_roles", user_id=user_id)
    found = await keycloak_node.request(LOOKUP, lookup)
    assert found.topic == FOUND
    assert role in _names(found.get("roles"))
    removed = await keycloak_node.request(
        MAPPING, ModelKeycloakRoleMapping(change="remove", user_id=user_id, roles=(role,))
    )
    assert removed.topic == CHANGED
    found = await keycloak_node.request(LOOKUP, lookup)
    assert role not in _names(found.get("roles"))


async def test_client_roles_are_looked_up_and_mapped_by_command(
    keycloak_node: AdapterHarness, keycloak_target: KeycloakTarget
) -> None:
    """A client-roles lookup lists the client's roles; an allowed client role is assigned,
    found in the user's client roles and removed; one outside the prefixes is refused."""
    client = keycloak_target.role_client_id
    found = await keycloak_node.request(
        LOOKUP, ModelKeycloakRoleLookup(lookup="client_roles", client_id=client)
    )
    assert found.topic == FOUND
    assert set(keycloak_target.client_roles) <= _names(found.get("roles"))
    user_id = await _user_id(keycloak_node, keycloak_target)
    reader, writer = keycloak_target.client_roles

    def mapping(change: str, role: str) -> ModelKeycloakRoleMapping:
        return ModelKeycloakRoleMapping.model_validate(
            {"change": change, "user_id": user_id, "client_id": client, "roles": [role]}
        )

    lookup = ModelKeycloakRoleLookup(lookup="user_client_roles", user_id=user_id, client_id=client)
    assert (await keycloak_node.request(MAPPING, mapping("assign", writer))).topic == CHANGED
    assert writer in _names((await keycloak_node.request(LOOKUP, lookup)).get("roles"))
    assert (await keycloak_node.request(MAPPING, mapping("remove", writer))).topic == CHANGED
    assert writer not in _names((await keycloak_node.request(LOOKUP, lookup)).get("roles"))
    refused = await keycloak_node.request(MAPPING, mapping("assign", reader))
    assert refused.topic == FAILED
    assert "outside the prefixes" in str(refused.get("reason"))


async def test_unknown_role_and_unlisted_client_are_failure_events(
    keycloak_node: AdapterHarness, keycloak_target: KeycloakTarget
) -> None:
    """A role that does not exist is the failure event (KeycloakNotFoundError); a client the
    contract does not list is refused before any request."""
    user_id = await _user_id(keycloak_node, keycloak_target)
    missing = await keycloak_node.request(
        MAPPING,
        ModelKeycloakRoleMapping(change="assign", user_id=user_id, roles=("onex-no-such-role",)),
    )
    assert missing.topic == FAILED
    assert missing.get("error_type") == "KeycloakNotFoundError"
    assert missing.get("command") == "role_mapping"
    unlisted = await keycloak_node.request(
        LOOKUP, ModelKeycloakRoleLookup(lookup="client_roles", client_id="realm-management")
    )
    assert unlisted.topic == FAILED
    assert "may name" in str(unlisted.get("reason"))


async def test_a_client_token_is_issued_and_a_scope_outside_the_contract_refused(
    keycloak_node: AdapterHarness, keycloak_target: KeycloakTarget
) -> None:
    """A client-token command answers with a token of the configured client; a scope the
    contract does not allow is the failure event."""
    issued = await keycloak_node.request(CLIENT_TOKEN, ModelKeycloakIssueClientToken())
    assert issued.topic == ISSUED
    token = issued.get("access_token")
    assert isinstance(token, str)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["azp"] == keycloak_target.client_id
    refused = await keycloak_node.request(
        CLIENT_TOKEN, ModelKeycloakIssueClientToken(scope="email admin")
    )
    assert refused.topic == FAILED
    assert "admin" in str(refused.get("reason"))


async def test_a_token_is_validated_and_a_forged_one_rejected(
    validating_node: AdapterHarness, oidc_provider: OidcProviderServer
) -> None:
    """A token from the real provider answers with its subject; the same token with its
    payload changed answers rejected (bad signature), without the token in the reply."""
    token = (await oidc_provider.issue_tokens("alice", client_id=OIDC_CLIENT))["id_token"]
    valid = await validating_node.request(VALIDATE, ModelKeycloakValidateToken(token=token))
    assert valid.topic == VALIDATED
    assert valid.get("subject") == "alice"
    assert OIDC_CLIENT in str(valid.get("audience"))
    head, _, signature = token.split(".")
    forged = f"{head}.eyJzdWIiOiJhZG1pbiJ9.{signature}"
    rejected = await validating_node.request(VALIDATE, ModelKeycloakValidateToken(token=forged))
    assert rejected.topic == REJECTED
    assert forged not in str(rejected.payload)
    assert "rejected" in str(rejected.get("reason"))


async def test_an_unreachable_keycloak_is_retried_then_dead_lettered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the server gone after the start, a role lookup is retried under the contract's
    policy and then dead-lettered as a connection failure; no failure event is published."""
    secret = SecretStr(secrets.token_urlsafe(24))
    server = FakeKeycloakServer.start(
        tmp_path, {"onex-admin": (secret, [])}, admin_roles={"onex-admin": ["view-realm"]}
    )
    try:
        monkeypatch.setenv(SECRET_VARIABLE, secret.get_secret_value())
        section: dict[str, JsonValue] = {
            "issuer_url": server.issuer,
            "client_id": "onex-admin",
            "client_secret": f"env://{SECRET_VARIABLE}",
        }
        async for node in _runtime(_contract_dir(tmp_path, "unused"), section):
            server.stop()
            reply = await node.request(LOOKUP, ModelKeycloakRoleLookup(lookup="realm_roles"))
            assert reply.topic.startswith("onex.dlq.")
            assert reply.dlq_error_type == "InfraConnectionError"
            assert secret.get_secret_value() not in str(reply.dlq_error_message)
    finally:
        server.stop()
