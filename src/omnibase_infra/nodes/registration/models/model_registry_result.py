"""The registry effect's answer for one batch of intents: each backend's outcome."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.model_backend_outcome import ModelBackendOutcome

__all__ = ["ModelRegistryResult"]


class ModelRegistryResult(BaseModel):
    """Per-backend outcomes; ``compensated`` when a partial success was undone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    storage: ModelBackendOutcome
    discovery: ModelBackendOutcome
    compensated: bool = False

    @property
    def succeeded(self) -> bool:
        """Both backends hold what the intents asked for."""
        done = (EnumBackendStatus.OK, EnumBackendStatus.REMOVED)
        return self.storage.status in done and self.discovery.status in done

    @property
    def unavailable(self) -> bool:
        """Every backend that failed was only unavailable: retrying later can succeed."""
        failed = [o for o in (self.storage, self.discovery) if o.status is EnumBackendStatus.FAILED]
        return bool(failed) and all(o.unavailable for o in failed)
