"""How to reach Vault/OpenBao and authenticate: address, token or AppRole, KV mount, timeouts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from omnibase_infra.http_url import check_http_url

__all__ = ["ModelVaultSettings"]


class ModelVaultSettings(BaseModel):
    """Settings of ``HandlerVault``.

    Authentication is either a token (``token``) or AppRole (``approle_role_id`` and
    ``approle_secret_id``); with AppRole the handler logs in at start and again whenever its
    token is rejected or about to expire. Secret fields hold references in settings files
    (``env://VAULT_TOKEN``), resolved by ``runtime.secrets.resolve_secret_fields`` at start.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str = Field(default="http://127.0.0.1:8200", min_length=1)
    token: SecretStr | None = None
    approle_role_id: str | None = Field(default=None, min_length=1)
    approle_secret_id: SecretStr | None = None
    approle_mount: str = Field(default="approle", min_length=1)
    namespace: str | None = Field(default=None, description="Sent as X-Vault-Namespace.")
    kv_mount: str = Field(default="secret", min_length=1, description="Default KV v2 mount.")
    timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    tls_verify: bool = True
    ca_cert_path: Path | None = None
    renew_before_expiry_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Renew (or log in again) when the token has less than this left.",
    )
    renew_increment_seconds: int | None = Field(
        default=None, gt=0, description="TTL asked for on renewal; None keeps the role's."
    )
    max_response_bytes: int = Field(default=4 * 1024 * 1024, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Only http(s) addresses; a trailing slash is dropped so paths join cleanly."""
        return check_http_url(value).rstrip("/")

    @field_validator("approle_mount", "kv_mount")
    @classmethod
    def _mount(cls, value: str) -> str:
        """Mount names are path segments: no surrounding slashes, no traversal."""
        value = value.strip("/")
        if not value or ".." in value.split("/"):
            raise ValueError("must be a mount path such as 'secret' or 'auth/approle'")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> ModelVaultSettings:
        """AppRole needs both halves; a token and AppRole at once would be ambiguous."""
        has_role = self.approle_role_id is not None or self.approle_secret_id is not None
        if has_role and (self.approle_role_id is None or self.approle_secret_id is None):
            raise ValueError("AppRole needs both approle_role_id and approle_secret_id")
        if has_role and self.token is not None:
            raise ValueError("configure either token or AppRole, not both")
        return self

    @property
    def uses_approle(self) -> bool:
        """Whether the handler authenticates by AppRole login."""
        return self.approle_role_id is not None

    @property
    def target_name(self) -> str:
        """Where calls go, for errors and logs (no credentials)."""
        # Here, not at the top: the runtime config imports this model, and httpx is not needed
        # before a Kafka runtime's groups begin joining.
        from omnibase_infra.handlers.httpx_support import safe_url

        return safe_url(self.url)
