"""What happened to a guarded call, as seen by the circuit breaker."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumCircuitBreakerEventKind"]


class EnumCircuitBreakerEventKind(StrEnum):
    """REQUEST asks to call; SUCCESS/FAILURE report the outcome; RELEASE reports neither."""

    REQUEST = "request"
    SUCCESS = "success"
    FAILURE = "failure"
    RELEASE = "release"
