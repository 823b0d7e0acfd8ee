"""The answer of an idempotency store to a claim."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome

__all__ = ["ModelIdempotencyClaim"]


class ModelIdempotencyClaim(BaseModel):
    """CLAIMED carries the owner ``token``; COMPLETED the stored ``result``; IN_PROGRESS how
    long until the current owner's lease runs out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: EnumIdempotencyOutcome
    token: UUID | None = None
    result: JsonValue = None
    retry_after_seconds: float | None = Field(default=None, ge=0)
