"""The webhook node's command: deliver one event to one named endpoint."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelWebhookDeliver"]


class ModelWebhookDeliver(BaseModel):
    """Sent as the JSON body ``{"type": event_type, "data": data}``, signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=1, max_length=100)
    event_type: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,200}$")
    data: dict[str, JsonValue]
