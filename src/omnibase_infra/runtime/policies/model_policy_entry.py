"""``ModelPolicyEntry``: a registered policy with where it came from and its content hash."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition

__all__ = ["ModelPolicyEntry"]


class ModelPolicyEntry(BaseModel):
    """One registry entry: the definition, its source (file or module) and SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: ModelPolicyDefinition
    source: str
    sha256: str
