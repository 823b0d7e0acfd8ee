"""How the outbound HTTP handler calls out: base URL, timeouts, limits, TLS, credentials."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from omnibase_infra.http_url import check_http_url

__all__ = ["ModelHttpClientSettings"]


class ModelHttpClientSettings(BaseModel):
    """Settings of ``HandlerHttp``.

    Credentials are ``SecretStr`` (references in settings files): ``bearer_token`` becomes an
    ``Authorization: Bearer`` header, ``secret_headers`` carry API keys, and
    ``webhook_secret`` (``whsec_`` + base64, the Standard Webhooks format) signs webhooks.
    None of them is ever written to an error, a log line or a repr.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    base_url: str | None = Field(default=None, description="Relative URLs resolve against it.")
    timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=100, ge=1)
    max_keepalive_connections: int = Field(default=20, ge=0)
    follow_redirects: bool = False
    tls_verify: bool = True
    ca_cert_path: Path | None = None
    user_agent: str = Field(default="omnibase-infra", min_length=1)
    default_headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, SecretStr] = Field(default_factory=dict)
    bearer_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    health_url: str | None = Field(
        default=None, description="Pinged by ping(); healthy when it answers below 500."
    )
    max_response_bytes: int = Field(default=10 * 1024 * 1024, gt=0)

    @field_validator("base_url", "health_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Only usable http(s) URLs (host, port in 1-65535, no control characters)."""
        return None if value is None else check_http_url(value)
