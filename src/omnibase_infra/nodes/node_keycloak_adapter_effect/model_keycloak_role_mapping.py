"""The Keycloak adapter's command: assign roles to a user or remove them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_change import (
    EnumKeycloakRoleChange,
)

__all__ = ["ModelKeycloakRoleMapping"]

_NAME = r"^[^/\s][^/]{0,254}$"


class ModelKeycloakRoleMapping(BaseModel):
    """Realm roles, or the roles of client ``client_id``, for user ``user_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: EnumKeycloakRoleChange
    user_id: str = Field(pattern=_NAME)
    client_id: str | None = Field(default=None, pattern=_NAME)
    roles: tuple[str, ...] = Field(min_length=1, max_length=100)
