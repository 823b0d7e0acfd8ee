"""The Keycloak adapter's result for a valid token: its verified claims."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakTokenValidated"]


class ModelKeycloakTokenValidated(BaseModel):
    """Who the token is for, who issued it, until when, and the roles and scopes it carries
    (the other claims are not repeated: they may be personal data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    issuer: str
    audience: tuple[str, ...] = ()
    expires_at: datetime | None = None
    authorized_party: str | None = None
    scopes: tuple[str, ...] = ()
    realm_roles: tuple[str, ...] = ()
    client_roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)
