"""Which adapter nodes a runtime config stands up: a node whose technology is not configured is
left out with the reason; configured, its handler is in the container for the node."""

from __future__ import annotations

import pytest

from omnibase_infra.errors import SecretResolutionError
from omnibase_infra.handlers.http.handler_http import HandlerHttp
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.infrastructure import build_infrastructure

pytestmark = pytest.mark.integration


async def test_unconfigured_adapters_are_left_out_with_their_reason() -> None:
    """Without PostgreSQL, Vault, Consul, an HTTP client or Keycloak, their adapter nodes are
    excluded with the reason."""
    config = load_runtime_config(None, postgres={"mode": "disabled"})
    async with build_infrastructure(config) as infra:
        assert infra.exclude_nodes["node_postgres_adapter_effect"] == "postgres.mode is disabled"
        assert infra.exclude_nodes["node_vault_adapter_effect"] == "vault is not configured"
        assert infra.exclude_nodes["node_webhook_effect"] == "http_client is not configured"
        assert infra.exclude_nodes["node_consul_adapter_effect"] == "discovery.kind is not consul"
        assert infra.exclude_nodes["node_keycloak_adapter_effect"] == "keycloak is not configured"
        assert HandlerHttp not in infra.services


async def test_an_http_client_section_wires_the_webhook_node() -> None:
    """With ``http_client`` (its webhook secret a reference), the container holds a HandlerHttp
    the host starts, and the webhook node is loaded."""
    config = load_runtime_config(
        None,
        postgres={"mode": "disabled"},
        http_client={"webhook_secret": "env://ONEX_TEST_ADAPTER_WEBHOOK_SECRET"},
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONEX_TEST_ADAPTER_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        async with build_infrastructure(config) as infra:
            http = infra.services[HandlerHttp]
            assert isinstance(http, HandlerHttp)
            assert http in infra.handlers
            assert "node_webhook_effect" not in infra.exclude_nodes


async def test_a_keycloak_section_wires_its_handler_and_refuses_a_literal_secret() -> None:
    """With ``keycloak`` (its client secret a reference), the container holds a HandlerKeycloak
    the host starts and the Keycloak node is loaded; a literal secret stops the start naming
    the field, not the value."""
    section = {"issuer_url": "https://kc.example.invalid/realms/onex", "client_id": "onex"}
    config = load_runtime_config(
        None,
        postgres={"mode": "disabled"},
        keycloak={**section, "client_secret": "env://ONEX_TEST_ADAPTER_KEYCLOAK_SECRET"},
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONEX_TEST_ADAPTER_KEYCLOAK_SECRET", "kc-client-secret-4711")
        async with build_infrastructure(config) as infra:
            keycloak = infra.services[HandlerKeycloak]
            assert isinstance(keycloak, HandlerKeycloak)
            assert keycloak in infra.handlers
            assert "node_keycloak_adapter_effect" not in infra.exclude_nodes
    literal = load_runtime_config(
        None,
        postgres={"mode": "disabled"},
        keycloak={**section, "client_secret": "kc-literal-secret-0815"},
    )
    with pytest.raises(SecretResolutionError) as caught:
        async with build_infrastructure(literal):
            pass
    assert "client_secret" in str(caught.value)
    assert "kc-literal-secret-0815" not in str(caught.value)
