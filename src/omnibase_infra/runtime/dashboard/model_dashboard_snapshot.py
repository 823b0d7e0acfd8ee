"""One moment of the runtime as the dashboard shows it: aggregated figures only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary

__all__ = ["ModelConsumerLag", "ModelDashboardSnapshot"]


class ModelConsumerLag(BaseModel):
    """Messages a consumer group has yet to take from a topic (its partitions summed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumer_group: str
    topic: str
    lag: int


class ModelDashboardSnapshot(BaseModel):
    """What the page shows; built at most once per interval, whoever asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    fleet: ModelFleetSummary | None = Field(
        default=None, description="null: no fleet source (registration not running)"
    )
    fleet_error: str | None = Field(
        default=None, description="why the fleet could not be read this time (sanitised)"
    )
    breakers: dict[str, str] = Field(
        default_factory=dict, description="breaker (dependency, its node when another) -> state"
    )
    lag: tuple[ModelConsumerLag, ...] = ()
    dead_letters: dict[str, int] = Field(default_factory=dict, description="reason -> total")
    messages: dict[str, int] = Field(default_factory=dict, description="node -> consumed total")
    rates: dict[str, float] = Field(
        default_factory=dict, description="node -> messages per second since the last snapshot"
    )
