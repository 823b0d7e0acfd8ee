"""One version of a KV v2 secret as read from Vault/OpenBao."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelVaultSecret"]


class ModelVaultSecret(BaseModel):
    """The key/value data of a KV v2 secret and its version metadata.

    ``data`` holds secret values: it is left out of ``repr`` so that printing or logging the
    model shows where the secret came from, never what it is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mount: str
    path: str
    version: int = Field(ge=0)
    created_time: str | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict, repr=False)
