"""The receipt of one webhook delivery the receiver accepted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelWebhookDelivery"]


class ModelWebhookDelivery(BaseModel):
    """Which message went where, when it was signed, and the receiver's 2xx status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(min_length=1)
    url: str
    timestamp: int = Field(description="Unix seconds, as sent in webhook-timestamp.")
    status_code: int = Field(ge=200, le=299)
