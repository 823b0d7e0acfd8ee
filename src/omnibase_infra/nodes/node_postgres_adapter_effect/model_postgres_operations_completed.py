"""The adapter's result event: every operation of the command ran (and committed)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation_result import (
    ModelPostgresOperationResult,
)

__all__ = ["ModelPostgresOperationsCompleted"]


class ModelPostgresOperationsCompleted(BaseModel):
    """One result per operation, in the command's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: tuple[ModelPostgresOperationResult, ...]
