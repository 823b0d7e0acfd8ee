"""One message to publish through the producer pool."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKafkaProducerPoolInput"]


class ModelKafkaProducerPoolInput(BaseModel):
    """Topic, optional key, value bytes and string headers of a message to publish."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str = Field(min_length=1)
    key: bytes | None = None
    value: bytes
    headers: dict[str, str] = Field(default_factory=dict)
