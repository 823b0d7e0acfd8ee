"""HandlerKeycloak's admin API (role lookups, users' role mappings) against the fake Keycloak
that follows the documented admin REST API, or a real Keycloak when ``KEYCLOAK_URL`` is set
(see ``omnibase_infra.testing.fixtures.oidc``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from omnibase_infra.errors import InfraAuthenticationError, RuntimeHostError
from omnibase_infra.handlers.oidc.errors import KeycloakNotFoundError
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_access_token import ModelAccessToken
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.testing import FakeKeycloakServer, error_surface
from omnibase_infra.testing.fixtures.oidc import FAKE_KEYCLOAK_CLIENT_ID, KeycloakTarget

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def keycloak(keycloak_target: KeycloakTarget) -> AsyncIterator[HandlerKeycloak]:
    """A started handler whose client may use the realm's admin API."""
    handler = HandlerKeycloak(
        ModelKeycloakSettings(
            issuer_url=keycloak_target.issuer,
            client_id=keycloak_target.client_id,
            client_secret=keycloak_target.client_secret,
        )
    )
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


async def _user_id(keycloak: HandlerKeycloak, target: KeycloakTarget) -> str:
    user_id = await keycloak.admin.find_user_id(target.username)
    assert user_id is not None
    return user_id


async def test_realm_roles_are_listed_and_looked_up_by_name(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """The realm's roles are listed, one is found by name, an unknown name is None."""
    names = {role.name for role in await keycloak.admin.realm_roles()}
    assert set(keycloak_target.realm_roles) <= names
    role = await keycloak.admin.realm_role(keycloak_target.realm_roles[0])
    assert role is not None
    assert role.name == keycloak_target.realm_roles[0]
    assert role.client_role is False
    assert await keycloak.admin.realm_role("no-such-role-anywhere") is None


async def test_client_roles_are_listed_and_an_unknown_client_is_not_found(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """A client's roles are listed by its clientId; an unknown clientId is
    KeycloakNotFoundError, an unknown role of a known client None."""
    client = keycloak_target.role_client_id
    names = {role.name for role in await keycloak.admin.client_roles(client)}
    assert set(keycloak_target.client_roles) <= names
    role = await keycloak.admin.client_role(client, keycloak_target.client_roles[0])
    assert role is not None
    assert role.client_role is True
    assert await keycloak.admin.client_role(client, "no-such-role") is None
    with pytest.raises(KeycloakNotFoundError) as caught:
        await keycloak.admin.client_roles("no-such-client")
    assert caught.value.retriable is False


async def test_realm_roles_are_assigned_to_and_removed_from_a_user(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """Assigned realm roles appear in the user's mappings and are gone after removal."""
    user_id = await _user_id(keycloak, keycloak_target)
    roles = list(keycloak_target.realm_roles)
    assigned = await keycloak.admin.assign_realm_roles(user_id, roles)
    assert [role.name for role in assigned] == roles
    granted = {role.name for role in await keycloak.admin.user_realm_roles(user_id)}
    assert set(roles) <= granted
    await keycloak.admin.remove_realm_roles(user_id, roles[:1])
    granted = {role.name for role in await keycloak.admin.user_realm_roles(user_id)}
    assert roles[0] not in granted
    assert roles[1] in granted
    await keycloak.admin.remove_realm_roles(user_id, roles[1:])


async def test_client_roles_are_assigned_to_and_removed_from_a_user(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """Assigned client roles appear in the user's client mappings and go on removal."""
    user_id = await _user_id(keycloak, keycloak_target)
    client, role = keycloak_target.role_client_id, keycloak_target.client_roles[1]
    await keycloak.admin.assign_client_roles(user_id, client, [role])
    granted = await keycloak.admin.user_client_roles(user_id, client)
    assert role in {entry.name for entry in granted}
    await keycloak.admin.remove_client_roles(user_id, client, [role])
    granted = await keycloak.admin.user_client_roles(user_id, client)
    assert role not in {entry.name for entry in granted}


async def test_unknown_roles_and_users_are_not_found_and_change_nothing(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """Assigning a role that does not exist, or to a user that does not exist, is
    KeycloakNotFoundError; the known role of the same call is not granted."""
    user_id = await _user_id(keycloak, keycloak_target)
    known = keycloak_target.realm_roles[0]
    with pytest.raises(KeycloakNotFoundError) as caught:
        await keycloak.admin.assign_realm_roles(user_id, [known, "no-such-role"])
    assert "no-such-role" in caught.value.message
    assert known not in {role.name for role in await keycloak.admin.user_realm_roles(user_id)}
    with pytest.raises(KeycloakNotFoundError):
        await keycloak.admin.assign_realm_roles("00000000-0000-0000-0000-000000000000", [known])


async def test_a_change_naming_no_role_is_refused_before_any_request(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """Removing an empty list is refused (Keycloak would remove every mapping)."""
    user_id = await _user_id(keycloak, keycloak_target)
    await keycloak.admin.assign_realm_roles(user_id, [keycloak_target.realm_roles[0]])
    try:
        with pytest.raises(RuntimeHostError, match="no role named"):
            await keycloak.admin.remove_realm_roles(user_id, [])
        granted = {role.name for role in await keycloak.admin.user_realm_roles(user_id)}
        assert keycloak_target.realm_roles[0] in granted
    finally:
        await keycloak.admin.remove_realm_roles(user_id, [keycloak_target.realm_roles[0]])


async def test_a_rejected_token_is_renewed_once_and_the_call_repeated(
    keycloak: HandlerKeycloak, keycloak_target: KeycloakTarget
) -> None:
    """With the cached service token no longer accepted (401), the handler fetches a new one
    and the call succeeds."""
    await keycloak.admin.realm_roles()  # caches a token
    stale = ModelAccessToken(access_token=SecretStr("eyJhbGciOiJSUzI1NiJ9.e30.c3RhbGU"))
    keycloak._service_token = stale  # the token the server now refuses
    names = {role.name for role in await keycloak.admin.realm_roles()}
    assert set(keycloak_target.realm_roles) <= names
    assert keycloak._service_token is not stale


async def test_a_client_without_admin_roles_is_refused_without_leaking_its_token(
    keycloak_fake: FakeKeycloakServer,
) -> None:
    """A service account without realm-management roles gets 403 as
    InfraAuthenticationError, and neither its token nor its secret is in the error."""
    secret = keycloak_fake.client_secrets[FAKE_KEYCLOAK_CLIENT_ID]
    handler = HandlerKeycloak(
        ModelKeycloakSettings(
            issuer_url=keycloak_fake.issuer,
            client_id=FAKE_KEYCLOAK_CLIENT_ID,
            client_secret=secret,
        )
    )
    await handler.start()
    try:
        token = (await handler.client_credentials_token()).access_token.get_secret_value()
        with pytest.raises(InfraAuthenticationError) as caught:
            await handler.admin.realm_roles()
    finally:
        await handler.close()
    assert caught.value.status_code == 403
    surface = error_surface(caught.value)
    assert token not in surface
    assert secret.get_secret_value() not in surface


def test_the_admin_url_is_derived_from_a_keycloak_issuer() -> None:
    """A Keycloak issuer gives its realm's admin API; another issuer gives none unless
    admin_url is set."""
    keycloak = ModelKeycloakSettings(issuer_url="https://kc.example.com/auth/realms/onex/")
    assert keycloak.resolved_admin_url == "https://kc.example.com/auth/admin/realms/onex"
    other = ModelKeycloakSettings(issuer_url="https://idp.example.com")
    assert other.resolved_admin_url is None
    explicit = other.model_copy(update={"admin_url": "https://idp.example.com/admin/x"})
    assert explicit.resolved_admin_url == "https://idp.example.com/admin/x"
