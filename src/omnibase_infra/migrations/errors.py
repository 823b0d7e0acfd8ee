"""Errors of the migration runner (leaves of the package's error tree)."""

from __future__ import annotations

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.errors import RuntimeHostError

__all__ = ["MigrationChecksumError", "MigrationError"]


class MigrationError(RuntimeHostError):
    """The migrations cannot be applied as they are (bad file, order, or a failing statement)."""

    default_error_code = EnumCoreErrorCode.MIGRATION_ERROR
    http_status = 500


class MigrationChecksumError(MigrationError):
    """An applied migration's file changed since it was applied; it must never be edited."""
