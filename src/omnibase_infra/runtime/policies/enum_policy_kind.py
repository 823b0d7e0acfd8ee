"""``EnumPolicyKind``: what a policy configures, and where a contract may refer to it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EFFECT_POLICY_KINDS", "EnumPolicyKind"]


class EnumPolicyKind(StrEnum):
    """The kinds of policy. ``retry``, ``circuit_breaker`` and ``timeout`` are referred to from
    an effect's ``error_handling`` (the key of that name); ``routing`` (what the bus does with a
    failed message: retries, outage budget, then the DLQ) from ``event_bus.retry_policy``."""

    RETRY = "retry"
    CIRCUIT_BREAKER = "circuit_breaker"
    TIMEOUT = "timeout"
    ROUTING = "routing"


EFFECT_POLICY_KINDS = (EnumPolicyKind.RETRY, EnumPolicyKind.CIRCUIT_BREAKER, EnumPolicyKind.TIMEOUT)
