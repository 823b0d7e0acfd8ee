"""A message a node asks the runtime to publish (the node itself never touches the bus)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelOutgoingMessage"]


class ModelOutgoingMessage(BaseModel):
    """One event (orchestrators) or intent (reducers) to publish on a declared topic."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    topic: str
    payload: BaseModel
    key: str | None = Field(default=None, description="Partition key (keeps order per key).")
