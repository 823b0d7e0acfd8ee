"""What the reducer asks the registry effect to do."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumRegistrationIntentKind"]


class EnumRegistrationIntentKind(StrEnum):
    """Intents of the registration reducer, executed by ``node_registry_effect``."""

    REGISTER = "register"
    RECORD_STATE = "record_state"
    HEARTBEAT = "heartbeat"
    DEREGISTER = "deregister"
