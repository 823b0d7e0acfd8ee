"""One ``handler_routing`` entry of a contract, resolved to plain names."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelContractRoute"]


class ModelContractRoute(BaseModel):
    """Which handler class takes which payload type on which topic (and for which capability)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handler_module: str
    handler_class: str
    payload_type: str | None = None
    payload_module: str | None = None
    topic: str | None = None
    operation: str | None = None
