"""An intent of the registration reducer: what the registry effect must make true."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)

__all__ = ["ModelRegistrationIntent"]


class ModelRegistrationIntent(BaseModel):
    """``kind`` applied to ``record``; storage writes only if it still holds ``expected_version``.

    ``transition_id`` names the state transition that caused the intent, so a retried write
    of the same transition is recognised and never recorded twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EnumRegistrationIntentKind
    record: ModelRegistrationRecord
    expected_version: int = Field(ge=0, description="0: the record must not exist yet")
    transition: str
    from_state: str
    transition_id: str
