"""The answer of ``GET /registry``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.registration.models.model_registry_entry import ModelRegistryEntry

__all__ = ["ModelRegistryListing"]


class ModelRegistryListing(BaseModel):
    """Every current registration, with counts by state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    by_state: dict[str, int]
    nodes: tuple[ModelRegistryEntry, ...]
