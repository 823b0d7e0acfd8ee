"""The job-started event."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict


class ModelRtJobStarted(BaseModel):
    """Job ``job_id`` of key ``key`` started (the orchestrator's event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: UUID
    key: str
    seq: int
