"""What one operation of a command produced."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = ["ModelPostgresOperationResult"]


class ModelPostgresOperationResult(BaseModel):
    """The rows (``returns: rows``, as JSON values) or the command tag (``returns: status``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: str
    rows: tuple[dict[str, JsonValue], ...] = ()
    status: str | None = None
