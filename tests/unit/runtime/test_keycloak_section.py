"""The runtime config's ``keycloak:`` section: the README's example loads, and settings that
cannot work are refused at load, naming the field and never echoing a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.config import load_runtime_config

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_keycloak_example_loads() -> None:
    """The README's keycloak block is a valid section whose admin API is derived from the
    issuer."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    (block,) = [text for text in blocks if text.startswith("keycloak:")]
    config = load_runtime_config(None, **yaml.safe_load(block))
    assert config.keycloak is not None
    assert config.keycloak.resolved_admin_url == "https://kc.example.com/admin/realms/onex"


def test_a_secret_without_a_client_is_refused_without_echoing_it() -> None:
    """A client secret without a client id fails the load; the error does not show it."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(
            None,
            keycloak={
                "issuer_url": "https://kc.example.com/realms/onex",
                "client_secret": "s3cr3t-x",
            },
        )
    assert "client_secret needs client_id" in str(caught.value)
    assert "s3cr3t-x" not in str(caught.value)


def test_a_symmetric_algorithm_is_refused() -> None:
    """HS256 (a shared secret checked against a public JWKS) is refused at load."""
    with pytest.raises(ProtocolConfigurationError, match="algorithms not allowed: HS256"):
        load_runtime_config(
            None,
            keycloak={"issuer_url": "https://kc.example.com/realms/onex", "algorithms": ["HS256"]},
        )
