"""What a fleet source reports to the dashboard: counts, never rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelFleetSummary"]


class ModelFleetSummary(BaseModel):
    """Registrations by state, the latest heartbeat and each backend's statuses, counted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reducer: str | None = Field(
        default=None, description="the node whose FSM states ``by_state`` counts (drawn live)"
    )
    total: int = 0
    by_state: dict[str, int] = Field(default_factory=dict)
    last_heartbeat_at: datetime | None = None
    backends: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="backend -> status -> registrations"
    )
