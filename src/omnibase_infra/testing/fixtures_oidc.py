"""pytest fixtures for OIDC: a real provider (oidc-provider-mock) and the fake Keycloak
(client_credentials); list this module in ``pytest_plugins``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from omnibase_infra.testing.server_keycloak_fake import FakeKeycloakServer
from omnibase_infra.testing.server_oidc import OidcProviderServer

__all__ = [
    "FAKE_KEYCLOAK_CLIENT_ID",
    "FAKE_KEYCLOAK_ROLES",
    "keycloak_fake",
    "oidc_provider",
    "oidc_provider_fresh",
    "oidc_provider_short_lived",
]

FAKE_KEYCLOAK_CLIENT_ID = "onex-service"
FAKE_KEYCLOAK_ROLES = ["registry-writer", "offline_access"]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """One OIDC provider for the session (tests must not stop or restart it)."""
    server = OidcProviderServer.start(tmp_path_factory.mktemp("oidc"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oidc_provider_short_lived(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OidcProviderServer]:
    """An OIDC provider whose tokens expire one second after issue."""
    server = OidcProviderServer.start(
        tmp_path_factory.mktemp("oidc-short"), token_max_age_seconds=1
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oidc_provider_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """An OIDC provider of the test's own, which it may restart (new key) or stop."""
    server = OidcProviderServer.start(tmp_path_factory.mktemp("oidc-fresh"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def keycloak_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeycloakServer]:
    """The fake Keycloak realm ``onex`` with one confidential client (random secret)."""
    secret = SecretStr(secrets.token_urlsafe(24) + "/+=&")  # characters Basic auth must encode
    server = FakeKeycloakServer.start(
        tmp_path_factory.mktemp("keycloak-fake"),
        {FAKE_KEYCLOAK_CLIENT_ID: (secret, FAKE_KEYCLOAK_ROLES)},
    )
    try:
        yield server
    finally:
        server.stop()
