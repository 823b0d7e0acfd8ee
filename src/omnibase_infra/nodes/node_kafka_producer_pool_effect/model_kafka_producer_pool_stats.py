"""Counters and state of the producer pool (for health reports and tests)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra._core import EnumCircuitBreakerState

__all__ = ["ModelKafkaProducerPoolStats"]


class ModelKafkaProducerPoolStats(BaseModel):
    """Pool size, publishes by outcome, messages awaiting acks, and the breaker's state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int = Field(ge=0)
    published: int = Field(ge=0)
    failed: int = Field(ge=0)
    rejected: int = Field(ge=0, description="refused by the open circuit")
    pending: int = Field(ge=0)
    circuit_state: EnumCircuitBreakerState
