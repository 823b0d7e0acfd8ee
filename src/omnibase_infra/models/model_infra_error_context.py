"""Where an infrastructure error happened: transport, operation, target, correlation id."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.sanitize import sanitize_text

__all__ = ["ModelInfraErrorContext"]


class ModelInfraErrorContext(BaseModel):
    """Structured, sanitised context carried by every ``RuntimeHostError``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport_type: EnumInfraTransportType | None = None
    operation: str | None = None
    target_name: str | None = None
    correlation_id: UUID | None = None

    @field_validator("operation", "target_name")
    @classmethod
    def _sanitize(cls, value: str | None) -> str | None:
        """Targets are often built from URLs or DSNs: never let credentials through."""
        return None if value is None else sanitize_text(value)
