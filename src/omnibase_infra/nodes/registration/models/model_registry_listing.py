"""The answer of ``GET /registry``: one page of registrations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.registration.models.model_registry_entry import ModelRegistryEntry

__all__ = ["ModelRegistryListing"]


class ModelRegistryListing(BaseModel):
    """A page of current registrations, with the totals of every page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(description="registrations on this page")
    total: int = Field(description="registrations on every page (in the state asked for)")
    by_state: dict[str, int] = Field(description="current registrations by state, all pages")
    nodes: tuple[ModelRegistryEntry, ...]
    next: str | None = Field(
        default=None, description="pass as ?after= for the next page; null on the last page"
    )
