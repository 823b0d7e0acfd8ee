"""The Keycloak adapter's result for a role lookup."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.handlers.oidc.model_keycloak_role import ModelKeycloakRole
from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_lookup import (
    EnumKeycloakRoleLookup,
)

__all__ = ["ModelKeycloakRolesFound"]


class ModelKeycloakRolesFound(BaseModel):
    """The roles found (those of ``names`` that exist, when the lookup named some)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookup: EnumKeycloakRoleLookup
    client_id: str | None = None
    user_id: str | None = None
    roles: tuple[ModelKeycloakRole, ...] = ()
