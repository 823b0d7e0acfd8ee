"""What one backend did with an intent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus

__all__ = ["ModelBackendOutcome"]


class ModelBackendOutcome(BaseModel):
    """Status of ``registration.storage`` or ``registration.discovery`` after its retries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capability: str
    status: EnumBackendStatus
    attempts: int = Field(default=1, ge=0)
    error_type: str | None = None
    error: str | None = None
    # The failure said the backend is unavailable (refused, timed out, circuit open): the same
    # write can succeed later, so the registration is retried, never rejected.
    unavailable: bool = False
