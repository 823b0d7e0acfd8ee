"""The Vault adapter's ``handler_config``: the mount, the allowed actions and path prefixes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.node_vault_adapter_effect.enum_vault_kv_action import (
    EnumVaultKvAction,
)

__all__ = ["ModelVaultAdapterConfig"]


class ModelVaultAdapterConfig(BaseModel):
    """A command outside ``actions`` or ``path_prefixes`` is refused with a failure event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mount: str | None = Field(default=None, description="KV v2 mount (null: the handler's).")
    actions: frozenset[EnumVaultKvAction] = Field(min_length=1)
    path_prefixes: tuple[str, ...] = Field(
        min_length=1, description="Paths a command may name start with one of these."
    )
