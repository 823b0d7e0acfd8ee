"""The record-job intent."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict


class ModelRtRecordJob(BaseModel):
    """Record job ``job_id``; ``count`` is how many jobs of ``key`` the reducer has seen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: UUID
    key: str
    seq: int
    count: int
