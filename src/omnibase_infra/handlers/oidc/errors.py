"""Errors of the Keycloak admin API that are the request's, not the infrastructure's."""

from __future__ import annotations

from typing import ClassVar

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.errors import RuntimeHostError

__all__ = ["KeycloakNotFoundError"]


class KeycloakNotFoundError(RuntimeHostError):
    """A role, client or user named by the call does not exist in the realm (404, final)."""

    default_error_code: ClassVar[EnumCoreErrorCode] = EnumCoreErrorCode.RESOURCE_NOT_FOUND
    http_status: ClassVar[int] = 404
