"""The ingress's 202 answer: which envelope went to which topic, under which correlation."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelIngressAccepted"]


class ModelIngressAccepted(BaseModel):
    """An event the bus accepted (durable on it) for ``topic``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    envelope_id: UUID
    correlation_id: UUID
