"""Hostile URLs are refused at the boundary with a reason, and never raise deep inside."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery import EnumCheckStatus, ModelDiscoveryCheck
from omnibase_infra.handlers.discovery.http_probe import HttpCheckProber
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.http_url import check_http_url, http_url_problem
from omnibase_infra.nodes.node_registry_effect.discovery import service_registration_for
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)

HOSTILE = [
    "http://127.0.0.1:-1/health",
    "http://127.0.0.1:99999/health",
    "http://127.0.0.1:0/health",
    "http://127.0.0.1:port/health",
    "http://[::1/health",
    "http://xn--/health",
    "http://exa mple.com/health",
    "http://h\x00/health",
    "ftp://h/health",
    "http:///health",
    "http://" + "a" * 3000 + "/",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_have_a_reason_that_does_not_echo_them(url: str) -> None:
    """Every hostile URL gets a reason, and the reason never repeats the URL."""
    problem = http_url_problem(url)
    assert problem is not None
    assert url not in problem
    with pytest.raises(ValueError, match="URL"):
        check_http_url(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/health", "https://h/x?q=1", "http://[::1]:80/", "http://h"]
)
def test_usable_urls_pass(url: str) -> None:
    """Ordinary http(s) URLs, IPv6 literals and default ports are accepted."""
    assert http_url_problem(url) is None


def test_credentials_are_refused_only_where_asked() -> None:
    """A URL with user info is refused when credentials are not allowed (stored URLs)."""
    assert http_url_problem("http://u:p@h/", allow_credentials=False) == (
        "must not carry credentials"
    )
    assert http_url_problem("http://u:p@h/") is None


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (ModelHttpClientSettings, {"health_url": "http://127.0.0.1:-1/health"}),
        (ModelHttpClientSettings, {"base_url": "http://127.0.0.1:99999"}),
        (ModelVaultSettings, {"url": "http://127.0.0.1:-1"}),
        (ModelKeycloakSettings, {"issuer_url": "http://[::1/realms/x", "client_id": "c"}),
        (ModelConsulSettings, {"base_url": "http://127.0.0.1:-1"}),
        (ModelDiscoveryCheck, {"http_url": "http://127.0.0.1:-1/h", "interval_seconds": 5}),
    ],
)
def test_settings_refuse_hostile_urls(model: type[BaseModel], fields: dict[str, object]) -> None:
    """Settings and checks refuse a hostile URL when they are built (a ValidationError)."""
    with pytest.raises(ValidationError, match=r"port that is not a number|is not a URL"):
        model.model_validate(fields)


@pytest.mark.parametrize("url", HOSTILE)
async def test_http_check_probe_never_raises(url: str) -> None:
    """A probe of a hostile URL reports critical with a reason instead of raising (a raise
    would end the check's poller for good)."""
    prober = HttpCheckProber()
    try:
        status, output = await prober.probe(url, 1.0)
    finally:
        await prober.close()
    assert status is EnumCheckStatus.CRITICAL
    assert output.startswith("HTTP GET")


def test_a_stored_hostile_health_endpoint_registers_without_an_address() -> None:
    """A registration stored before endpoints were validated (port -1) still maps to a
    discovery instance, without address and port, instead of raising on every heartbeat."""
    now = datetime.now(UTC)
    record = ModelRegistrationRecord(
        node_id=uuid4(),
        node_name="old",
        node_type="effect",
        node_version="1.0.0",
        state=EnumRegistrationState.ACTIVE,
        health_endpoint="http://127.0.0.1:-1/health",
        acked=True,
        registered_at=now,
        last_heartbeat_at=now,
        updated_at=now,
        version=3,
    )
    registration = service_registration_for(record, 30.0)
    assert (registration.address, registration.port) == (None, None)
