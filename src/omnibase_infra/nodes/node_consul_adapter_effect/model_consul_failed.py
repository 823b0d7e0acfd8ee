"""The Consul adapter's failure event."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.nodes.node_consul_adapter_effect.enum_consul_action import EnumConsulAction

__all__ = ["ModelConsulFailed"]


class ModelConsulFailed(BaseModel):
    """Which action failed and why (a refused name or key, a check that is not a TTL check)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EnumConsulAction
    error_type: str
    reason: str
