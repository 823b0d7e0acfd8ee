"""The Vault adapter's command: one KV v2 action on one path."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from omnibase_infra.nodes.node_vault_adapter_effect.enum_vault_kv_action import (
    EnumVaultKvAction,
)

__all__ = ["ModelVaultKvCommand"]

_PATH = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$"


class ModelVaultKvCommand(BaseModel):
    """``data`` for a write only; ``version`` for a read; ``cas`` (check-and-set) for a
    write; ``all_versions`` for a delete (every version and the metadata)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumVaultKvAction
    path: str = Field(min_length=1, max_length=512, pattern=_PATH)
    data: dict[str, JsonValue] | None = Field(default=None, repr=False)
    version: int | None = Field(default=None, ge=1)
    cas: int | None = Field(default=None, ge=0)
    all_versions: bool = False

    @model_validator(mode="after")
    def _fields_fit_the_action(self) -> ModelVaultKvCommand:
        if any(part in {".", ".."} for part in self.path.split("/")):
            raise ValueError("path segments may not be '.' or '..'")
        if (self.action is EnumVaultKvAction.WRITE) != (self.data is not None):
            raise ValueError("data is required for a write and only for a write")
        if self.version is not None and self.action is not EnumVaultKvAction.READ:
            raise ValueError("version is for a read only")
        if self.cas is not None and self.action is not EnumVaultKvAction.WRITE:
            raise ValueError("cas is for a write only")
        if self.all_versions and self.action is not EnumVaultKvAction.DELETE:
            raise ValueError("all_versions is for a delete only")
        return self
