"""One result an EFFECT contract declares: the model its handler returns and the evt topic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelContractResult"]


class ModelContractResult(BaseModel):
    """A result topic of an EFFECT node and the model published on it (``schema_ref``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    model_module: str
    model_name: str
