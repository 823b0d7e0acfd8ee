"""Event: a node is alive (the published platform's heartbeat shape)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelNodeHeartbeat"]


class ModelNodeHeartbeat(BaseModel):
    """A heartbeat; core's ``ModelNodeHealthEvent`` is accepted on the same topic too."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    node_id: UUID
    node_type: str | None = None
    node_version: JsonValue = None
    uptime_seconds: float = Field(default=0.0, ge=0)
    active_operations_count: int = Field(default=0, ge=0)
    memory_usage_mb: float | None = None
    cpu_usage_percent: float | None = None
    correlation_id: UUID | None = None
    timestamp: datetime
