"""Where a node stands in its registration lifecycle (the reducer FSM's states)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumRegistrationState"]


class EnumRegistrationState(StrEnum):
    """States of ``node_registration_reducer``'s state machine."""

    UNREGISTERED = "unregistered"
    PENDING = "pending"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    STALE = "stale"
    EXPIRED = "expired"
    REJECTED = "rejected"
    DEREGISTERED = "deregistered"

    @property
    def is_live(self) -> bool:
        """Whether a registration in this state is kept in the backends."""
        return self in _LIVE


_LIVE = frozenset(
    {
        EnumRegistrationState.PENDING,
        EnumRegistrationState.ACCEPTED,
        EnumRegistrationState.ACTIVE,
        EnumRegistrationState.STALE,
    }
)
