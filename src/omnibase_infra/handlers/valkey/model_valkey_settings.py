"""How to reach Valkey (or Redis): address, credentials, TLS, timeouts, pool size, key prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ModelValkeySettings"]


class ModelValkeySettings(BaseModel):
    """Settings of ``HandlerValkey``; the password is a ``SecretStr`` (a reference in files)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=6379, ge=1, le=65535)
    db: int = Field(default=0, ge=0)
    username: str | None = Field(default=None, min_length=1, description="ACL user (Redis 6+).")
    password: SecretStr | None = None
    ssl: bool = False
    ssl_ca_path: Path | None = None
    socket_timeout_seconds: float = Field(default=5.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=32, ge=1, description="Pool bound; callers wait.")
    pool_wait_seconds: float = Field(
        default=5.0, gt=0, description="How long a call waits for a free pooled connection."
    )
    key_prefix: str = Field(default="", description="Prepended to every key (namespacing).")
    client_name: str = Field(default="omnibase-infra", pattern=r"^[!-~]+$")

    @property
    def target_name(self) -> str:
        """Where calls go, for errors and logs (no credentials)."""
        return f"{self.host}:{self.port}/{self.db}"
