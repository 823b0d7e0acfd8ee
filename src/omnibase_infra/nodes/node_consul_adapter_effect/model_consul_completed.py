"""The Consul adapter's result event."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.handlers.discovery.model_service_instance import ModelServiceInstance
from omnibase_infra.nodes.node_consul_adapter_effect.enum_consul_action import EnumConsulAction
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_kv_entry import (
    ModelConsulKvEntry,
)

__all__ = ["ModelConsulCompleted"]


class ModelConsulCompleted(BaseModel):
    """What the action did or found. ``changed``: a deregister, check update, put or delete
    took effect (False: no such instance or check, or a stale ``cas``). ``index``: the
    query's index, for the next blocking query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumConsulAction
    changed: bool | None = None
    instances: tuple[ModelServiceInstance, ...] = ()
    services: dict[str, tuple[str, ...]] = {}
    entries: tuple[ModelConsulKvEntry, ...] = ()
    index: int | None = None
