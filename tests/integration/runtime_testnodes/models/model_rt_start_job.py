"""The start-job command."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict


class ModelRtStartJob(BaseModel):
    """Start job ``job_id``: the ``seq``-th command of partition key ``key``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: UUID
    key: str
    seq: int
    value: int = 0
