"""``event_bus.retry_policy``: the bus's failed-message routing from a named policy.

The bus's retry settings are needed before the start proper (the Kafka groups begin joining,
retry groups included, while the runtime's modules import), so the reference is resolved when
the config is loaded, among the policies declared in YAML (``policies.definitions`` and
``policies.files``), never by importing a module. The full registry, built at start, registers
the same definitions again (and logs them), so a module that gave the same name@version another
content is refused there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnibase_infra.runtime.policies.enum_policy_kind import EnumPolicyKind
from omnibase_infra.runtime.policies.loader import read_policy_file
from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition
from omnibase_infra.runtime.policies.registry import PolicyRegistry

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig

__all__ = ["resolve_routing_policy", "routing_policy"]

_FIELD = "event_bus.retry_policy"


def resolve_routing_policy(config: ModelRuntimeConfig, *, file: str) -> ModelRuntimeConfig:
    """``config`` with ``event_bus.retry`` taken from the policy ``event_bus.retry_policy``
    names (unchanged without one). Raises ``PolicyRegistryError`` naming the field."""
    found = routing_policy(config, file=file)
    if found is None:
        return config
    bus = config.event_bus.model_copy(update={"retry": found.routing})
    return config.model_copy(update={"event_bus": bus})


def routing_policy(config: ModelRuntimeConfig, *, file: str) -> ModelPolicyDefinition | None:
    """The routing policy ``event_bus.retry_policy`` names, among the YAML-declared ones."""
    reference = config.event_bus.retry_policy
    if reference is None:
        return None
    scratch = PolicyRegistry(log=False)
    for index, definition in enumerate(config.policies.definitions):
        scratch.register(definition, source=file, field=f"policies.definitions.{index}")
    for path in config.policies.files:
        for index, definition in enumerate(read_policy_file(path)):
            scratch.register(definition, source=str(path), field=f"policies.{index}")
    return scratch.resolve(reference, EnumPolicyKind.ROUTING, file=file, field=_FIELD)
