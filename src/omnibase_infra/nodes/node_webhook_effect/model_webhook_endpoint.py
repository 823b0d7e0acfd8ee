"""One receiver a webhook command may name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelWebhookEndpoint"]


class ModelWebhookEndpoint(BaseModel):
    """The receiver's URL (http or https)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2048)
