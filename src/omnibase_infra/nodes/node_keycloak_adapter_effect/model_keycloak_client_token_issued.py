"""The Keycloak adapter's result for a client-token command: the access token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakClientTokenIssued"]


class ModelKeycloakClientTokenIssued(BaseModel):
    """The service-account token, its type, scope and expiry.

    ``access_token`` is a credential: the topic carrying it must be readable only by who may
    act as the configured client.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_token: str = Field(repr=False)
    token_type: str
    expires_at: datetime | None = None
    scope: str | None = None
