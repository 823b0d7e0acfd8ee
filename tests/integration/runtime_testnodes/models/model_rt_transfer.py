"""A transfer between two accounts of the transfer effect's table."""

from pydantic import BaseModel, ConfigDict


class ModelRtTransfer(BaseModel):
    """Move ``amount`` from account ``source`` to account ``target``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str
    amount: int
