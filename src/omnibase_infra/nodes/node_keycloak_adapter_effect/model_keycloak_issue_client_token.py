"""The Keycloak adapter's command: a service-account token for the configured client."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakIssueClientToken"]


class ModelKeycloakIssueClientToken(BaseModel):
    """``scope`` (space-separated, each allowed by the contract) or the configured scope."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: str | None = Field(default=None, min_length=1, max_length=1000)
