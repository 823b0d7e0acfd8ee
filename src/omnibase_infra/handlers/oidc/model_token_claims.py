"""The verified claims of an access or ID token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelTokenClaims"]


class ModelTokenClaims(BaseModel):
    """Who the token is for and what it grants, after signature and claim checks passed.

    ``realm_roles`` come from Keycloak's ``realm_access.roles``, ``client_roles`` from
    ``resource_access.<client>.roles``. ``claims`` holds every claim (it may carry personal
    data such as an email, so it is left out of ``repr``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    issuer: str
    audience: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    authorized_party: str | None = None
    scopes: list[str] = Field(default_factory=list)
    realm_roles: list[str] = Field(default_factory=list)
    client_roles: dict[str, list[str]] = Field(default_factory=dict)
    key_id: str | None = None
    algorithm: str
    claims: dict[str, JsonValue] = Field(default_factory=dict, repr=False)
