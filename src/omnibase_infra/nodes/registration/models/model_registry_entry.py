"""One row of ``GET /registry`` and ``onex-infra registry list``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelRegistryEntry"]


class ModelRegistryEntry(BaseModel):
    """A node, its state, its last heartbeat and each backend's status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: UUID
    node_name: str
    node_type: str
    node_version: str
    state: str
    acked: bool
    registered_at: datetime
    last_heartbeat_at: datetime
    storage_status: str
    discovery_status: str
