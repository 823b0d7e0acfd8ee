"""Where one consumer group stands on one partition: committed offset, end, parked message."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelConsumerPosition"]


class ModelConsumerPosition(BaseModel):
    """A group's committed offset on a partition and the end of what it has to consume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    group_id: str
    partition: int = Field(ge=0)
    committed: int = Field(
        ge=0, description="the next offset the group will take (delivered, maybe not committed)"
    )
    end: int = Field(ge=0, description="the offset after the last message the group must take")
    parked_offset: int | None = Field(
        default=None, description="offset of the message the partition is parked at, if any"
    )

    @property
    def lag(self) -> int:
        """Messages the group has yet to take on this partition."""
        return max(self.end - self.committed, 0)
