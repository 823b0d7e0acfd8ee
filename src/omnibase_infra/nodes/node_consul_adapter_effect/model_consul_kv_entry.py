"""A KV entry in the Consul adapter's result."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelConsulKvEntry"]


class ModelConsulKvEntry(BaseModel):
    """A key with its value (UTF-8 text, undecodable bytes replaced) and modify index."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: str
    flags: int = 0
    modify_index: int
