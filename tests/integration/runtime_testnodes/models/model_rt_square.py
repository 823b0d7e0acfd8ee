"""The compute node's result."""

from pydantic import BaseModel, ConfigDict


class ModelRtSquare(BaseModel):
    """The square of a start-job command's value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: int
