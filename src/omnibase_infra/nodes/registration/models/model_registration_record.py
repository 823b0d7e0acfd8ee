"""One node's registration: the reducer's state and what the backends hold."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)

__all__ = ["ModelRegistrationRecord"]


class ModelRegistrationRecord(BaseModel):
    """A row of ``onex_registrations``; ``version`` guards concurrent writers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: UUID
    node_name: str
    node_type: str
    node_version: str
    state: EnumRegistrationState
    capabilities: tuple[str, ...] = ()
    endpoints: dict[str, str] = Field(default_factory=dict)
    health_endpoint: str | None = None
    acked: bool = False
    registered_at: datetime
    last_heartbeat_at: datetime
    updated_at: datetime
    version: int = Field(default=0, ge=0)
    storage_status: EnumBackendStatus = EnumBackendStatus.UNKNOWN
    discovery_status: EnumBackendStatus = EnumBackendStatus.UNKNOWN
    last_error: str | None = None
