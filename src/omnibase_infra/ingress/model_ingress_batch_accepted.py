"""The ingress's 202 answer to a batch: each envelope's ids, in the order the batch gave them."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelIngressBatchAccepted", "ModelIngressEventIds"]


class ModelIngressEventIds(BaseModel):
    """One event of a batch: its envelope id and correlation id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    envelope_id: UUID
    correlation_id: UUID


class ModelIngressBatchAccepted(BaseModel):
    """Every event of a batch the bus accepted (durable on it) for ``topic``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    count: int
    events: tuple[ModelIngressEventIds, ...]
