"""The webhook node's result event: the receiver accepted the delivery."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelWebhookDelivered"]


class ModelWebhookDelivered(BaseModel):
    """Which endpoint took which message (``webhook-id``), and its 2xx status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    message_id: str
    status_code: int
