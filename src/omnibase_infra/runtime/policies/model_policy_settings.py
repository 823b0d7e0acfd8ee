"""``ModelPolicySettings``: the runtime config's ``policies`` section."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition

__all__ = ["ModelPolicySettings"]


class ModelPolicySettings(BaseModel):
    """Where the runtime's named policies come from: this file, YAML files, allowlisted modules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    definitions: list[ModelPolicyDefinition] = Field(
        default_factory=list, description="policies written here (name, version, kind, body)"
    )
    files: list[Path] = Field(
        default_factory=list,
        description="YAML files holding `policies: [...]`, each entry like `definitions`",
    )
    modules: list[str] = Field(
        default_factory=list,
        description="modules exporting ONEX_POLICIES (a list of policy definitions, data only); "
        "each must be inside `allowlist`",
    )
    allowlist: list[str] | None = Field(
        default=None,
        description="module prefixes `modules` may come from (null: the plugin allowlist)",
    )
