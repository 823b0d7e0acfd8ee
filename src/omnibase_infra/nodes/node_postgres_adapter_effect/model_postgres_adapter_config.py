"""The adapter's ``handler_config``: the operations a command may name."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation import (
    ModelPostgresOperation,
)

__all__ = ["ModelPostgresAdapterConfig"]

_OPERATION_NAME = r"^[a-z][a-z0-9_.-]{0,99}$"


class ModelPostgresAdapterConfig(BaseModel):
    """Named operations, validated when the runtime wires the node (file, field, reason)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operations: dict[str, ModelPostgresOperation] = Field(min_length=1)
    max_operations_per_command: int = Field(default=100, ge=1, le=10_000)
    max_rows: int = Field(default=10_000, ge=1, description="Rows a result may carry.")

    @field_validator("operations")
    @classmethod
    def _names(
        cls, operations: dict[str, ModelPostgresOperation]
    ) -> dict[str, ModelPostgresOperation]:
        for name in operations:
            if not re.match(_OPERATION_NAME, name):
                raise ValueError(f"operation name {name!r} is not a lower-case name")
        return operations
