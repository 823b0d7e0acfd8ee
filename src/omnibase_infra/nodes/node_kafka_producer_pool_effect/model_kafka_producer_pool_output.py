"""The acknowledgement of one publish through the producer pool."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKafkaProducerPoolOutput"]


class ModelKafkaProducerPoolOutput(BaseModel):
    """Which topic got the message, from which pooled producer, and how long the ack took."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    producer_index: int = Field(ge=0)
    latency_ms: float = Field(ge=0.0)
