"""The Keycloak adapter's command: validate one access or ID token."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakValidateToken"]


class ModelKeycloakValidateToken(BaseModel):
    """The token (a JWT) to check against the provider's keys and the configured rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str = Field(min_length=1, max_length=65536, repr=False)
