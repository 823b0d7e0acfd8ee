"""The names the platform's seeds (001-004) use resolve where a real counterpart exists.

Which 003/004 node names resolve, and why the others do not, is listed in
docs/reference/seed-names.md; this pins the ones that must.
"""

from __future__ import annotations

import asyncio
import importlib

import pytest

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.container_wiring import wire_infrastructure_services

# The 003/004 node module names that are real nodes of this package (or an alias of one).
RESOLVING_NODES = (
    "node_circuit_breaker_compute",
    "node_event_bus_circuit_breaker_compute",
    "node_infrastructure_health_monitor_orchestrator",
    "node_postgres_adapter_effect",
    "node_vault_adapter_effect",
    "node_consul_adapter_effect",
    "node_keycloak_adapter_effect",
    "node_webhook_effect",
)


class ProtocolSeedService:
    """A service type as bootstrap code registers it."""


class SeedService(ProtocolSeedService):
    """Its implementation."""


def test_the_circuit_breaker_mixin_imports_from_the_seeds_path() -> None:
    """``from omnibase_infra.mixins import MixinAsyncCircuitBreaker`` is the resilience mixin."""
    from omnibase_infra.mixins import MixinAsyncCircuitBreaker
    from omnibase_infra.resilience.breaker.mixin import MixinAsyncCircuitBreaker as Mixin

    assert MixinAsyncCircuitBreaker is Mixin


def test_wire_infrastructure_services_is_synchronous_as_the_seeds_call_it() -> None:
    """``wire_infrastructure_services(container)`` returns the container at once, and with
    services registers them for ``get_service`` by type."""
    container = ModelONEXContainer()
    assert wire_infrastructure_services(container) is container
    service = SeedService()
    wire_infrastructure_services(container, {ProtocolSeedService: service})
    assert container.get_service(ProtocolSeedService) is service


def test_wire_infrastructure_services_refuses_to_block_a_running_loop() -> None:
    """Inside an event loop the synchronous face is refused, naming the async one."""

    async def inside() -> None:
        wire_infrastructure_services(ModelONEXContainer())

    with pytest.raises(ProtocolConfigurationError, match="wire_infrastructure_services_async"):
        asyncio.run(inside())


@pytest.mark.parametrize("name", RESOLVING_NODES)
def test_seed_node_module_names_import(name: str) -> None:
    """Each 003/004 node name with a real node behind it imports from omnibase_infra.nodes."""
    assert importlib.import_module(f"omnibase_infra.nodes.{name}") is not None


def test_the_event_bus_breaker_name_is_the_breaker_compute_node() -> None:
    """The seeds' node_event_bus_circuit_breaker_compute is an alias of the breaker node."""
    from omnibase_infra.nodes import node_circuit_breaker_compute as real
    from omnibase_infra.nodes import node_event_bus_circuit_breaker_compute as alias

    assert alias.circuit_breaker_transition is real.circuit_breaker_transition
