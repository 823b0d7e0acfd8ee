"""How a deployment is rolled out: the plan compute's result, the apply effect's input."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelDeploymentPlan"]


class ModelDeploymentPlan(BaseModel):
    """The request with its rollout: all at once, or in batches of instances."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment_id: UUID
    service: str
    version: str
    environment: str
    replicas: int = Field(ge=1)
    strategy: Literal["recreate", "rolling"]
    batches: tuple[int, ...] = Field(description="Instances replaced per batch, in order.")
