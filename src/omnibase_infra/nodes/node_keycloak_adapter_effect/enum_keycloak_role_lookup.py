"""Which roles a Keycloak role lookup asks for."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumKeycloakRoleLookup"]


class EnumKeycloakRoleLookup(StrEnum):
    """The realm's roles, a client's roles, or the realm or client roles granted to a user."""

    REALM_ROLES = "realm_roles"
    CLIENT_ROLES = "client_roles"
    USER_REALM_ROLES = "user_realm_roles"
    USER_CLIENT_ROLES = "user_client_roles"
