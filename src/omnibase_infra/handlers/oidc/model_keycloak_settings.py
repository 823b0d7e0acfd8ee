"""How to reach Keycloak (or any OIDC provider) and what a valid token must look like."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from omnibase_infra.http_url import check_http_url

__all__ = ["ASYMMETRIC_JWT_ALGORITHMS", "ModelKeycloakSettings"]

# Keys come from a public JWKS, so only public-key algorithms make sense; HMAC ("HS*") with a
# public key is the classic algorithm-confusion hole, and "none" is no signature at all.
ASYMMETRIC_JWT_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class ModelKeycloakSettings(BaseModel):
    """Settings of ``HandlerKeycloak``.

    ``issuer_url`` is the realm's issuer (``https://kc.example.com/realms/onex``); discovery
    is read from ``<issuer_url>/.well-known/openid-configuration`` unless ``discovery_url``
    says otherwise, and the discovered issuer must equal ``issuer_url``. ``audience`` lists
    the values of which a token's ``aud`` must contain one (None: audience not checked, any
    token of the realm passes). ``client_id``/``client_secret`` are for the
    client_credentials grant (service-account tokens); the admin API (role lookups and
    mappings) uses that client's service-account token, at ``admin_url`` (default: derived from
    a Keycloak issuer, ``<base>/realms/<realm>`` -> ``<base>/admin/realms/<realm>``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    issuer_url: str = Field(min_length=1)
    discovery_url: str | None = None
    admin_url: str | None = Field(
        default=None,
        description="Keycloak admin REST API of the realm (null: derived from issuer_url)",
    )
    audience: list[str] | None = Field(default=None, min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"], min_length=1)
    required_claims: list[str] = Field(default_factory=lambda: ["exp", "iat", "iss", "sub"])
    leeway_seconds: float = Field(default=10.0, ge=0)
    max_token_bytes: int = Field(default=16 * 1024, gt=0)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = None
    client_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    scope: str | None = None
    token_refresh_margin_seconds: float = Field(
        default=30.0, ge=0, description="Fetch a new service token this long before expiry."
    )
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval_seconds: float = Field(
        default=10.0,
        ge=0,
        description="At most one JWKS fetch per interval for unknown key ids (no fetch storms).",
    )
    timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    tls_verify: bool = True
    ca_cert_path: Path | None = None
    max_response_bytes: int = Field(default=1024 * 1024, gt=0)

    @field_validator("issuer_url", "discovery_url", "admin_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Only http(s) URLs; the issuer loses a trailing slash (issuers compare exactly)."""
        if value is None:
            return None
        return check_http_url(value).rstrip("/")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        """Refuse 'none' and HMAC algorithms (see ``ASYMMETRIC_JWT_ALGORITHMS``)."""
        refused = sorted(set(value) - ASYMMETRIC_JWT_ALGORITHMS)
        if refused:
            raise ValueError(
                f"algorithms not allowed: {', '.join(refused)}; use public-key algorithms "
                f"({', '.join(sorted(ASYMMETRIC_JWT_ALGORITHMS))})"
            )
        return value

    @model_validator(mode="after")
    def _client_pair(self) -> ModelKeycloakSettings:
        """A client secret without a client id cannot authenticate anything."""
        if self.client_secret is not None and self.client_id is None:
            raise ValueError("client_secret needs client_id")
        return self

    @property
    def resolved_discovery_url(self) -> str:
        """Where the discovery document is read."""
        return self.discovery_url or f"{self.issuer_url}/.well-known/openid-configuration"

    @property
    def resolved_admin_url(self) -> str | None:
        """The realm's admin API (None when ``issuer_url`` is not ``<base>/realms/<realm>``
        and no ``admin_url`` is set)."""
        if self.admin_url is not None:
            return self.admin_url
        base, marker, realm = self.issuer_url.rpartition("/realms/")
        if not marker or not realm or "/" in realm:
            return None
        return f"{base}/admin/realms/{realm}"

    @property
    def target_name(self) -> str:
        """Where calls go, for errors and logs."""
        # Here, not at the top: the runtime config imports this model (ingress settings), and
        # httpx is not needed before a Kafka runtime's groups begin joining.
        from omnibase_infra.handlers.httpx_support import safe_url

        return safe_url(self.issuer_url)
