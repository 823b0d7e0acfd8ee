"""The Consul adapter's command: one action with the fields it needs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.handlers.discovery.enum_check_status import EnumCheckStatus
from omnibase_infra.handlers.discovery.model_blocking_query import ModelBlockingQuery
from omnibase_infra.handlers.discovery.model_service_registration import (
    SERVICE_ID_PATTERN,
    SERVICE_NAME_PATTERN,
    ModelServiceRegistration,
)
from omnibase_infra.nodes.node_consul_adapter_effect.enum_consul_action import EnumConsulAction

__all__ = ["ModelConsulCommand"]

_A = EnumConsulAction
# The fields each action needs (others must be left out).
_REQUIRED: dict[EnumConsulAction, frozenset[str]] = {
    _A.REGISTER: frozenset({"registration"}),
    _A.DEREGISTER: frozenset({"service_id"}),
    _A.UPDATE_CHECK: frozenset({"check_id", "check_status"}),
    _A.HEALTHY_INSTANCES: frozenset({"service_name"}),
    _A.LIST_INSTANCES: frozenset({"service_name"}),
    _A.LIST_SERVICES: frozenset(),
    _A.KV_GET: frozenset({"key"}),
    _A.KV_LIST: frozenset({"key"}),
    _A.KV_PUT: frozenset({"key", "value"}),
    _A.KV_DELETE: frozenset({"key"}),
}
_OPTIONAL: dict[EnumConsulAction, frozenset[str]] = {
    _A.UPDATE_CHECK: frozenset({"note"}),
    _A.HEALTHY_INSTANCES: frozenset({"tag", "blocking"}),
    _A.LIST_INSTANCES: frozenset({"blocking"}),
    _A.LIST_SERVICES: frozenset({"blocking"}),
    _A.KV_GET: frozenset({"blocking"}),
    _A.KV_PUT: frozenset({"cas"}),
    _A.KV_DELETE: frozenset({"cas"}),
}
_FIELDS: tuple[str, ...] = ("registration", "service_id", "service_name", "tag", "check_id")
_FIELDS += ("check_status", "note", "key", "value", "cas", "blocking")


class ModelConsulCommand(BaseModel):
    """``action`` and exactly the fields it uses; KV values are UTF-8 text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumConsulAction
    registration: ModelServiceRegistration | None = None
    service_id: str | None = Field(default=None, pattern=SERVICE_ID_PATTERN)
    service_name: str | None = Field(default=None, pattern=SERVICE_NAME_PATTERN)
    tag: str | None = Field(default=None, min_length=1, max_length=255)
    check_id: str | None = Field(default=None, min_length=1, max_length=255)
    check_status: EnumCheckStatus | None = None
    note: str | None = Field(default=None, max_length=1024)
    key: str | None = Field(default=None, min_length=1, max_length=512)
    value: str | None = Field(default=None, max_length=512 * 1024)
    cas: int | None = Field(default=None, ge=0)
    blocking: ModelBlockingQuery | None = None

    @model_validator(mode="after")
    def _fields_fit_the_action(self) -> ModelConsulCommand:
        given = {name for name in _FIELDS if getattr(self, name) is not None}
        required = _REQUIRED[self.action]
        allowed = required | _OPTIONAL.get(self.action, frozenset())
        if missing := sorted(required - given):
            raise ValueError(f"{self.action.value} needs {', '.join(missing)}")
        if extra := sorted(given - allowed):
            raise ValueError(f"{self.action.value} takes no {', '.join(extra)}")
        return self

    @property
    def service(self) -> str | None:
        """The service name the command is about, if any."""
        return self.registration.name if self.registration is not None else self.service_name
