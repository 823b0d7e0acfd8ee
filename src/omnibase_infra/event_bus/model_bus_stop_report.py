"""What stopping a bus's consumers and producer left behind (the facts behind ``drained``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelBusStopReport"]


class ModelBusStopReport(BaseModel):
    """Counts since the bus started; all zero (but ``uncommitted``) when it stopped clean."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cut_short: int = Field(
        default=0, ge=0, description="deliveries begun and given up on (a message still failing)"
    )
    uncommitted: int = Field(
        default=0,
        ge=0,
        description="fetched messages never begun, left uncommitted for the group's next member",
    )
    commit_failures: int = Field(default=0, ge=0, description="commits the broker refused")
    unflushed: int = Field(default=0, ge=0, description="publishes purged unacknowledged")

    @property
    def clean(self) -> bool:
        """Whether everything begun was finished, committed and acknowledged."""
        return self.cut_short == 0 and self.commit_failures == 0 and self.unflushed == 0
