"""The intent a YAML-only reducer emits for an FSM action."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = ["ModelFsmIntent"]


class ModelFsmIntent(BaseModel):
    """One action of a taken transition, for the effect subscribed to its intent topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state_machine: str
    entity_key: str
    action: str
    transition: str
    trigger: str
    from_state: str
    to_state: str
    data: JsonValue = None
