"""One operation a command asks for: its name and its parameters' values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["ModelPostgresOperationCall"]


class ModelPostgresOperationCall(BaseModel):
    """A declared operation by name; ``params`` maps each declared parameter to its value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: str = Field(min_length=1, max_length=100)
    params: dict[str, JsonValue] = Field(default_factory=dict)
