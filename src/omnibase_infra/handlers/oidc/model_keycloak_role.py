"""A Keycloak role as the admin API describes it (``RoleRepresentation``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKeycloakRole"]


class ModelKeycloakRole(BaseModel):
    """A realm role (``client_role`` False) or a client role; other fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    composite: bool = False
    client_role: bool = Field(default=False, alias="clientRole")
    container_id: str | None = Field(default=None, alias="containerId")
