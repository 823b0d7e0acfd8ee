"""The command that starts a deployment."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelDeployServiceRequested"]


class ModelDeployServiceRequested(BaseModel):
    """Deploy ``version`` of ``service`` with ``replicas`` instances in ``environment``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment_id: UUID
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    environment: str = Field(default="local", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    replicas: int = Field(default=1, ge=1, le=100)
