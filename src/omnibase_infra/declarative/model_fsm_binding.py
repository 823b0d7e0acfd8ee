"""How a YAML-only reducer binds its FSM to messages: entity key, trigger, intents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["FSM_BINDING_SECTION", "ModelFsmBinding"]

FSM_BINDING_SECTION = "fsm_binding"


class ModelFsmBinding(BaseModel):
    """The contract's ``fsm_binding`` section (REDUCER contracts without handler code).

    Core's FSM subcontract says what happens on a trigger; this says which entity a message is
    about, what its trigger is and where each action goes as an intent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_key: str | None = Field(
        default=None,
        description="Payload field (dotted for nested) whose value names the entity; "
        "absent: the message's key.",
    )
    trigger: str | None = Field(
        default=None,
        description="Payload field whose value is the FSM trigger; absent: the payload type.",
    )
    intents: dict[str, str] = Field(
        default_factory=dict,
        description="FSM action name -> the intent topic it is emitted on (one of "
        "event_bus.publish_topics).",
    )
    max_entities: int = Field(
        default=10_000,
        ge=1,
        description="Entities whose state is kept in memory; the least recently used is "
        "forgotten beyond it (it starts again from the initial state).",
    )
    unmatched: Literal["ignore", "dead_letter"] = Field(
        default="ignore",
        description="A message with no transition from the entity's state (or whose guards "
        "all fail): ignored (logged), or failed to the dead-letter policy.",
    )

    @classmethod
    def from_section(cls, section: JsonValue, *, file: str) -> ModelFsmBinding:
        """Validate the section, naming file and field on error."""
        try:
            return cls.model_validate(section)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            field = f"{FSM_BINDING_SECTION}.{where}" if where else FSM_BINDING_SECTION
            raise ProtocolConfigurationError(error["msg"], file=file, field=field) from None
