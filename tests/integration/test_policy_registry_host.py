"""A started runtime's policy registry, as nodes see it through the container: what the config
declared, frozen (a registration after the start is refused with a typed error)."""

from __future__ import annotations

import pytest
from runtime_support import node_config, running_host

from omnibase_infra.runtime.policies.errors import PolicyRegistryFrozenError
from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition
from omnibase_infra.runtime.policies.registry import PolicyRegistry

pytestmark = [pytest.mark.integration]

_DEFINITION = {
    "name": "std",
    "version": "1.0.0",
    "kind": "timeout",
    "timeout": {"timeout_seconds": 2},
}


async def test_registration_after_start_is_refused() -> None:
    """The container's registry holds the config's policies and refuses a late registration."""
    config = node_config(policies={"definitions": [_DEFINITION]})
    async with running_host(config) as host:
        registry = host.container.get_service(PolicyRegistry)
        assert set(registry.entries()) == {"std@1.0.0"}
        late = ModelPolicyDefinition.model_validate({**_DEFINITION, "name": "late"})
        with pytest.raises(PolicyRegistryFrozenError):
            registry.register(late, source="a node at run time")
        assert set(registry.entries()) == {"std@1.0.0"}
