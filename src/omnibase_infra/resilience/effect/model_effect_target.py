"""Where the calls of one capability go: ``error_handling.targets.<capability>``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.enums import EnumInfraTransportType

__all__ = ["ModelEffectTarget"]


class ModelEffectTarget(BaseModel):
    """The transport of a capability's dependency and the name its breaker and errors carry.

    ``transport`` selects the error codes and the error context of timeouts and refusals;
    ``service_name`` names the dependency (breaker metrics, ``target_name``), by default the
    capability itself.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: EnumInfraTransportType
    service_name: str | None = Field(default=None, min_length=1)
