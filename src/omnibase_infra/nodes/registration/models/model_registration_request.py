"""A node's introspection, normalised from core's or the published package's payload shape."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelRegistrationRequest", "NodeTypeName"]

NodeTypeName = Literal["effect", "compute", "reducer", "orchestrator", "runtime_host"]


class ModelRegistrationRequest(BaseModel):
    """What the registry needs to register a node, whatever shape it announced itself in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: UUID
    node_name: str = Field(min_length=1, max_length=200)
    node_type: NodeTypeName
    node_version: str = Field(min_length=1, max_length=64)
    capabilities: tuple[str, ...] = ()
    endpoints: dict[str, str] = Field(default_factory=dict)
    health_endpoint: str | None = None
    observed_at: datetime
    source_shape: Literal["core", "published"] = "core"
