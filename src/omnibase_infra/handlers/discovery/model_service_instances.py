"""The instances of one service, with the index a blocking read continues from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.handlers.discovery.model_service_instance import ModelServiceInstance

__all__ = ["ModelServiceInstances"]


class ModelServiceInstances(BaseModel):
    """Instances of ``service_name`` (ordered by service id) as of ``index``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_name: str
    instances: tuple[ModelServiceInstance, ...] = ()
    index: int = Field(default=0, ge=0)

    @property
    def service_ids(self) -> tuple[str, ...]:
        """The ids of the instances, in order."""
        return tuple(instance.service_id for instance in self.instances)
