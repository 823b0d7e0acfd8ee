"""The Vault adapter's failure event: the action cannot succeed as asked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.node_vault_adapter_effect.enum_vault_kv_action import (
    EnumVaultKvAction,
)

__all__ = ["ModelVaultKvFailed"]


class ModelVaultKvFailed(BaseModel):
    """Which action on which path failed and why (never a secret value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumVaultKvAction
    path: str
    error_type: str
    reason: str
