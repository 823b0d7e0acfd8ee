"""The long-poll part of a read: wait until the data changes past an index, or a time elapses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_WAIT_SECONDS", "ModelBlockingQuery"]

# Consul caps a blocking query's wait at 10 minutes.
MAX_WAIT_SECONDS = 600.0


class ModelBlockingQuery(BaseModel):
    """Return once the result's index exceeds ``index`` or after about ``wait_seconds``.

    ``index`` is the ``index`` of a previous result of the same read; the answer may come back
    unchanged when the wait elapses (a blocking read promises a chance of change, not a change).
    An ``index`` of 0 never blocks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    wait_seconds: float = Field(default=60.0, gt=0, le=MAX_WAIT_SECONDS)
