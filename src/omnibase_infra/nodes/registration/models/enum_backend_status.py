"""How one backend of a registration stands."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumBackendStatus"]


class EnumBackendStatus(StrEnum):
    """Status of ``registration.storage`` or ``registration.discovery`` for one node."""

    UNKNOWN = "unknown"
    OK = "ok"
    FAILED = "failed"
    COMPENSATED = "compensated"
    REMOVED = "removed"
