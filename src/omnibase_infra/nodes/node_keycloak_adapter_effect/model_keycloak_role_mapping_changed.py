"""The Keycloak adapter's result for a role mapping command."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_change import (
    EnumKeycloakRoleChange,
)

__all__ = ["ModelKeycloakRoleMappingChanged"]


class ModelKeycloakRoleMappingChanged(BaseModel):
    """The user now holds (assign) or no longer holds (remove) ``roles``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: EnumKeycloakRoleChange
    user_id: str
    client_id: str | None = None
    roles: tuple[str, ...]
