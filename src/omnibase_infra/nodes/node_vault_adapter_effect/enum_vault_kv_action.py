"""What a Vault adapter command does to a KV v2 secret."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumVaultKvAction"]


class EnumVaultKvAction(StrEnum):
    """Read (latest or a version), write (a new version), list keys, delete."""

    READ = "read"
    WRITE = "write"
    LIST = "list"
    DELETE = "delete"
