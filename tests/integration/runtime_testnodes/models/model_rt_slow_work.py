"""The slow-work command of the drain nodes."""

from pydantic import BaseModel, ConfigDict


class ModelRtSlowWork(BaseModel):
    """One unit of slow work, numbered ``work_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    work_id: int
    key: str
