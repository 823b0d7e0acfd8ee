"""The Keycloak adapter's command: look up realm roles, a client's roles or a user's."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_lookup import (
    EnumKeycloakRoleLookup,
)

__all__ = ["ModelKeycloakRoleLookup"]

_L = EnumKeycloakRoleLookup
_NAME = r"^[^/\s][^/]{0,254}$"


class ModelKeycloakRoleLookup(BaseModel):
    """``client_id`` for the client lookups, ``user_id`` for the user lookups; ``names``
    narrows the answer to those roles (empty: all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookup: EnumKeycloakRoleLookup
    client_id: str | None = Field(default=None, pattern=_NAME)
    user_id: str | None = Field(default=None, pattern=_NAME)
    names: tuple[str, ...] = Field(default=(), max_length=100)

    @model_validator(mode="after")
    def _fields_fit_the_lookup(self) -> ModelKeycloakRoleLookup:
        for_client = self.lookup in (_L.CLIENT_ROLES, _L.USER_CLIENT_ROLES)
        for_user = self.lookup in (_L.USER_REALM_ROLES, _L.USER_CLIENT_ROLES)
        if for_client != (self.client_id is not None):
            raise ValueError("client_id is required for a client lookup and only for one")
        if for_user != (self.user_id is not None):
            raise ValueError("user_id is required for a user lookup and only for one")
        return self
