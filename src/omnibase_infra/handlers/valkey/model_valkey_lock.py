"""A distributed lock held in Valkey: its key and the owner token that alone may release it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelValkeyLock"]


class ModelValkeyLock(BaseModel):
    """Proof of holding ``name``: release succeeds only with this ``token``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    key: str = Field(min_length=1)
    token: str = Field(min_length=16, repr=False)
    ttl_seconds: float = Field(gt=0)
