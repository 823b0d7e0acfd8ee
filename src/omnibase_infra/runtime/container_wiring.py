"""Registers the infrastructure services in core's ``ModelONEXContainer``.

Nodes and handlers receive the container and resolve what they need by type (usually a
Protocol); tests swap in doubles by registering their own instances the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from omnibase_infra._core import ModelONEXContainer

__all__ = ["wire_infrastructure_services"]


async def wire_infrastructure_services(
    container: ModelONEXContainer, services: Mapping[type[object], object]
) -> ModelONEXContainer:
    """Register each ``interface -> instance`` pair; returns the container for chaining."""
    for interface, instance in services.items():
        await container.service_registry.register_instance(interface=interface, instance=instance)
    return container
