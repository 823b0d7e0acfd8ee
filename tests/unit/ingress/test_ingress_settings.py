"""The ingress's settings: loopback by default, an open bind only with auth, no client secret,
and the runtime config's ``ingress`` section."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.ingress.auth import bearer_token
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings, is_loopback_host
from omnibase_infra.runtime.config import load_runtime_config

_ISSUER = "https://kc.example.com/realms/onex"
_AUTH = {"oidc": {"issuer_url": _ISSUER}, "roles": {"r": ["*"]}}


def test_default_is_enabled_on_loopback_8083() -> None:
    """Zero config: enabled, 127.0.0.1:8083, no auth."""
    settings = ModelIngressSettings()
    assert (settings.enabled, settings.host, settings.port, settings.auth) == (
        True,
        "127.0.0.1",
        8083,
        None,
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only the loopback interface counts as loopback."""
    assert is_loopback_host(host) is loopback


def test_open_bind_needs_auth_and_names_the_settings() -> None:
    """A non-loopback host without auth is refused at load, naming ingress.host and
    ingress.auth; with auth it loads; disabled it does not matter."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(None, ingress={"host": "0.0.0.0"})
    assert "ingress.host '0.0.0.0' is not a loopback address" in caught.value.message
    assert "ingress.auth" in caught.value.message
    open_with_auth = ModelIngressSettings.model_validate({"host": "0.0.0.0", "auth": _AUTH})
    assert open_with_auth.auth is not None
    ModelIngressSettings.model_validate({"host": "0.0.0.0", "enabled": False})


def test_auth_refuses_a_client_secret_and_needs_roles() -> None:
    """The ingress only validates tokens: a client secret is refused (and not echoed); an
    empty role map is refused."""
    with pytest.raises(ValidationError) as caught:
        ModelIngressSettings.model_validate(
            {
                "auth": {
                    **_AUTH,
                    "oidc": {
                        "issuer_url": _ISSUER,
                        "client_id": "x",
                        "client_secret": "s3cr3t-value",
                    },
                }
            }
        )
    assert "client_secret" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)
    with pytest.raises(ValidationError):
        ModelIngressSettings.model_validate({"auth": {**_AUTH, "roles": {}}})


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
    ],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    """Only the Bearer scheme yields a token."""
    assert bearer_token(header) == token
