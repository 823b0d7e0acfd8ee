"""What the apply effect reports: the deployment's outcome."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelServiceDeployed"]


class ModelServiceDeployed(BaseModel):
    """The service runs ``version``; ``healthy`` when every instance reported ready."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment_id: UUID
    service: str
    version: str
    environment: str
    replicas_ready: int = Field(ge=0)
    healthy: bool
