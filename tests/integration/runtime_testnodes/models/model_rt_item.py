"""An item read by the cache or the database effect, and which one answered."""

from pydantic import BaseModel, ConfigDict


class ModelRtItem(BaseModel):
    """The value stored under ``key`` and its ``source`` (cache or db)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: str
    source: str
