"""The introspection payload nodes built with the published omnibase-infra package send."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelPublishedIntrospection"]


class ModelPublishedIntrospection(BaseModel):
    """Only the fields registration reads; the rest of that (large) model is ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    node_id: UUID
    node_type: str
    node_version: JsonValue = None
    node_name: str | None = None
    declared_capabilities: dict[str, JsonValue] = Field(default_factory=dict)
    endpoints: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    timestamp: datetime
