"""One key of the discovery key/value store, with the indexes check-and-set works from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelKvEntry"]


class ModelKvEntry(BaseModel):
    """A stored value; pass ``modify_index`` as ``cas`` to update it only if nobody else has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: bytes = b""
    flags: int = Field(default=0, ge=0)
    create_index: int = Field(ge=0)
    modify_index: int = Field(ge=0)
