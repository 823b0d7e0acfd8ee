"""What happened to a node: the triggers of the registration FSM."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumRegistrationTrigger"]


class EnumRegistrationTrigger(StrEnum):
    """Triggers of ``node_registration_reducer``'s state machine."""

    INTROSPECTED = "introspected"
    REGISTERED = "registered"
    REGISTRATION_FAILED = "registration_failed"
    ACKED = "acked"
    ACK_TIMEOUT = "ack_timeout"
    HEARTBEAT = "heartbeat"
    LIVENESS_MISSED = "liveness_missed"
    LIVENESS_EXPIRED = "liveness_expired"
    SHUTDOWN = "shutdown"
