"""The answer to reading one key: the entry (or none) and the index to block on next."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.handlers.discovery.model_kv_entry import ModelKvEntry

__all__ = ["ModelKvReadResult"]


class ModelKvReadResult(BaseModel):
    """``entry`` is None when ``key`` does not exist (not an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    entry: ModelKvEntry | None = None
    index: int = Field(default=0, ge=0)
