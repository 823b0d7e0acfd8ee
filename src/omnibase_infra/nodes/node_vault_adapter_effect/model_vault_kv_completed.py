"""The Vault adapter's result event."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from omnibase_infra.nodes.node_vault_adapter_effect.enum_vault_kv_action import (
    EnumVaultKvAction,
)

__all__ = ["ModelVaultKvCompleted"]


class ModelVaultKvCompleted(BaseModel):
    """What the action did: a read's ``data`` and ``version`` (``found`` False when there is
    no such secret), a write's new ``version``, a list's ``keys``.

    A read's ``data`` holds secret values: the topic carrying it must be readable only by who
    may read the secret (the contract's path prefixes say which secrets those are).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumVaultKvAction
    path: str
    found: bool = True
    version: int | None = None
    data: dict[str, JsonValue] | None = Field(default=None, repr=False)
    keys: tuple[str, ...] = ()
