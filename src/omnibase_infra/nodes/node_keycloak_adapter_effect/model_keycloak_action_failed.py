"""The Keycloak adapter's failure event: the command cannot succeed as asked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelKeycloakActionFailed"]


class ModelKeycloakActionFailed(BaseModel):
    """Which command failed and why (a role, client or user that does not exist, something
    the contract does not allow); never a token or a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str
    error_type: str
    reason: str
