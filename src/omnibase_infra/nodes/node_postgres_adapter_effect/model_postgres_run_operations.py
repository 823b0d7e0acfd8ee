"""The adapter's command: operations to run, in one transaction when there are several."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation_call import (
    ModelPostgresOperationCall,
)

__all__ = ["ModelPostgresRunOperations"]


class ModelPostgresRunOperations(BaseModel):
    """Run ``operations`` in order; two or more run in one transaction (all or none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operations: tuple[ModelPostgresOperationCall, ...] = Field(min_length=1)
