"""The Keycloak adapter's ``handler_config``: what its commands may change and name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakAdapterConfig"]


class ModelKeycloakAdapterConfig(BaseModel):
    """A command outside these is refused with the failure event, before any request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role_prefixes: tuple[str, ...] = Field(
        min_length=1,
        description="Roles (realm or client) a role mapping command may assign or remove start "
        "with one of these.",
    )
    client_ids: tuple[str, ...] = Field(
        default=(), description="Clients (clientId) whose roles commands may look up or map."
    )
    scopes: tuple[str, ...] = Field(
        default=(),
        description="Scopes a client-token command may ask for (none: the configured scope only).",
    )
