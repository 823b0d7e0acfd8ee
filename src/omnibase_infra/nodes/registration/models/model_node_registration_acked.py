"""Command: a node acknowledges its accepted registration (the second half of the handshake)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelNodeRegistrationAcked"]


class ModelNodeRegistrationAcked(BaseModel):
    """Same fields as the published platform's command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: UUID = Field(default_factory=uuid4)
    node_id: UUID
    correlation_id: UUID
    timestamp: datetime
