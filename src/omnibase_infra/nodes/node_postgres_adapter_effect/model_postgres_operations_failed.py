"""The adapter's failure event: the command failed for a reason retrying does not change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelPostgresOperationsFailed"]


class ModelPostgresOperationsFailed(BaseModel):
    """Which operation failed and why (no parameter value, no row); nothing was committed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: str | None
    error_type: str
    reason: str
    sqlstate: str | None = None
