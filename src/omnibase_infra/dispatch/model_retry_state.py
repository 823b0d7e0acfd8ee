"""What a retried message carries about its failures (the ``onex-retry-state`` header)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelRetryState"]


class ModelRetryState(BaseModel):
    """The consumer group that failed, when it first failed, and when to try again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumer_group: str = Field(min_length=1)
    original_topic: str = Field(min_length=1)
    partition: int = Field(default=0, ge=0)
    offset: int = Field(default=0, ge=0)
    first_failure_at: datetime
    not_before: datetime
    last_error_type: str
