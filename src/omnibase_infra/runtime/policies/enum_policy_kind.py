"""``EnumPolicyKind``: what a policy configures, and where a contract may refer to it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumPolicyKind"]


class EnumPolicyKind(StrEnum):
    """The kinds of policy; each names the ``error_handling`` key that may refer to it."""

    RETRY = "retry"
    CIRCUIT_BREAKER = "circuit_breaker"
    TIMEOUT = "timeout"
