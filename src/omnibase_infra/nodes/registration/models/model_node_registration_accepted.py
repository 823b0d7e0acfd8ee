"""Event: the registry accepted a node's registration; the node should ack it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelNodeRegistrationAccepted"]


class ModelNodeRegistrationAccepted(BaseModel):
    """Same fields as the published platform's event, so existing nodes understand it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: UUID
    node_id: UUID
    correlation_id: UUID
    causation_id: UUID
    emitted_at: datetime
    ack_deadline: datetime
