"""``ModelContractErrorExample``: one broken contract and what loading it reports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelContractErrorExample"]


class ModelContractErrorExample(BaseModel):
    """A mistake in a contract, and the field and reason the loader names for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mistake: str
    field: str | None
    reason: str
