"""An access token obtained from the provider (e.g. by the client_credentials grant)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["ModelAccessToken"]


class ModelAccessToken(BaseModel):
    """The token (a ``SecretStr``), its type, scope and when it expires."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_token: SecretStr
    token_type: str = "Bearer"  # noqa: S105 - a token type name, not a credential
    expires_at: datetime | None = None
    scope: str | None = None

    def authorization_header(self) -> str:
        """The ``Authorization`` header value (handle with care: it is the credential)."""
        return f"{self.token_type} {self.access_token.get_secret_value()}"
