"""Event: an introspection was rejected (invalid, or its registration could not be made)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelNodeRegistrationRejected"]


class ModelNodeRegistrationRejected(BaseModel):
    """Why a registration was refused; ``node_id`` is absent when the payload had none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: UUID | None = None
    node_id: UUID | None = None
    correlation_id: UUID
    causation_id: UUID
    emitted_at: datetime
    rejection_reason: str = Field(max_length=2000)
