"""A node's introspection, normalised from core's or the published package's payload shape."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnibase_infra.http_url import check_http_url

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

    @field_validator("health_endpoint")
    @classmethod
    def _usable_health_endpoint(cls, value: str | None) -> str | None:
        """An http(s) URL with a host and a port in 1-65535, no credentials: discovery takes
        the instance's address and port from it, and it is stored and announced."""
        return None if value is None else check_http_url(value, allow_credentials=False)
