"""Event: a registration changed state (became active, stale, expired or deregistered)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelNodeStateChanged"]


class ModelNodeStateChanged(BaseModel):
    """The transition, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: UUID
    node_id: UUID
    node_name: str
    from_state: str
    to_state: str
    trigger: str
    emitted_at: datetime
