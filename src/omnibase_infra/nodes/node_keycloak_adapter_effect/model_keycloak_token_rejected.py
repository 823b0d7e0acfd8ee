"""The Keycloak adapter's result for a token that is not valid."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelKeycloakTokenRejected"]


class ModelKeycloakTokenRejected(BaseModel):
    """Why the token was rejected ("expired", "bad signature"...), never the token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str
