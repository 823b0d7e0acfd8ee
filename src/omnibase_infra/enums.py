"""Enumerations this package adds to core's (core's own enums are used where they exist)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumDispatchOutcome", "EnumInfraTransportType", "EnumTopicKind"]


class EnumInfraTransportType(StrEnum):
    """The transport an infrastructure call went over; selects error codes and metrics labels."""

    HTTP = "http"
    DATABASE = "db"
    KAFKA = "kafka"
    CONSUL = "consul"
    VAULT = "vault"
    VALKEY = "valkey"
    GRPC = "grpc"


class EnumTopicKind(StrEnum):
    """The second segment of a topic name: what kind of message the topic carries."""

    EVT = "evt"
    CMD = "cmd"
    INTENT = "intent"
    DLQ = "dlq"


class EnumDispatchOutcome(StrEnum):
    """How a consumed message ended: every message ends in exactly one of these."""

    HANDLED = "handled"
    UNROUTED = "unrouted"
    DLQ = "dlq"
    RETRY = "retry"
    # The failure could not be made durable (no dead letter written): the bus holds it.
    PARKED = "parked"
