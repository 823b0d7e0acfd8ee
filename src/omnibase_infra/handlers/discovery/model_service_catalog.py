"""Every service name discovery knows, with the tags its instances carry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelServiceCatalog"]


class ModelServiceCatalog(BaseModel):
    """Service name -> sorted union of its instances' tags, as of ``index``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    services: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    index: int = Field(default=0, ge=0)
