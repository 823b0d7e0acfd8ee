"""What a Keycloak role mapping command does to a user's roles."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumKeycloakRoleChange"]


class EnumKeycloakRoleChange(StrEnum):
    """Grant the roles to the user, or take them away."""

    ASSIGN = "assign"
    REMOVE = "remove"
