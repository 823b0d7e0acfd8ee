"""The webhook node's failure event: the delivery cannot succeed as asked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelWebhookFailed"]


class ModelWebhookFailed(BaseModel):
    """An unknown endpoint, or a receiver that refused the message for good (a 4xx other than
    401/403/408/429, which are retried or dead-lettered)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    message_id: str | None
    error_type: str
    reason: str
    status_code: int | None = None
