"""The Consul adapter's ``handler_config``: allowed actions, service names and KV prefixes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.nodes.node_consul_adapter_effect.enum_consul_action import EnumConsulAction

__all__ = ["ModelConsulAdapterConfig"]


class ModelConsulAdapterConfig(BaseModel):
    """A command outside these is refused with a failure event, before any request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: frozenset[EnumConsulAction] = Field(min_length=1)
    service_name_prefixes: tuple[str, ...] = Field(
        default=("",), description="Service names a command may register or query."
    )
    key_prefixes: tuple[str, ...] = Field(
        min_length=1, description="KV keys (and list prefixes) a command may name."
    )
