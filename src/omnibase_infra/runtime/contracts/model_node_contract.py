"""A node contract after loading: core's validated contract plus what the runtime derives."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from omnibase_infra._core import EnumNodeKind, ModelContractBase
from omnibase_infra.declarative.model_fsm_binding import ModelFsmBinding
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.runtime.contracts.model_contract_result import ModelContractResult
from omnibase_infra.runtime.contracts.model_contract_route import ModelContractRoute

__all__ = ["ModelNodeContract"]


class ModelNodeContract(BaseModel):
    """Everything the runtime needs from one ``contract.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    path: Path
    name: str
    archetype: EnumNodeKind
    version: str
    description: str
    subscribe_topics: tuple[str, ...] = ()
    publish_topics: tuple[str, ...] = ()
    routes: tuple[ModelContractRoute, ...] = ()
    definition: ModelContractBase
    effect_policy: ModelEffectPolicy | None = None
    fsm_binding: ModelFsmBinding | None = None
    # EFFECT only: the models its handler may return, each published on its evt topic.
    results: tuple[ModelContractResult, ...] = ()
    # The ``handler_config`` section, validated by the handler's ``config_model`` at wiring.
    handler_config: dict[str, JsonValue] | None = None
    # ``error_handling`` fields that named a registered policy: field -> name@version.
    policy_refs: dict[str, str] = Field(default_factory=dict)
