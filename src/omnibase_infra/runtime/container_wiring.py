"""Registers the infrastructure services in core's ``ModelONEXContainer``.

Nodes and handlers receive the container and resolve what they need by type (usually a
Protocol); tests swap in doubles by registering their own instances the same way.

Core's registry keys a registration by the type's ``__name__`` and resolves the first one made,
so on its own a second registration of a type is silently ignored, and two different types that
share a name resolve to each other's instance. Wiring here replaces an earlier registration of
the same type (the last instance wins, which is what swapping in a double needs) and refuses a
type whose name another registered type already uses.

Two faces: ``wire_infrastructure_services(container, services)`` is synchronous, as the
platform's seeds call it (``wire_infrastructure_services(container)`` in bootstrap code, outside
any event loop); ``wire_infrastructure_services_async`` is the same for code that runs in a
loop (the runtime host).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["wire_infrastructure_services", "wire_infrastructure_services_async"]

# The types wired into each container, by the name core keys them with.
_WIRED: weakref.WeakKeyDictionary[ModelONEXContainer, dict[str, type[object]]] = (
    weakref.WeakKeyDictionary()
)


def wire_infrastructure_services(
    container: ModelONEXContainer, services: Mapping[type[object], object] | None = None
) -> ModelONEXContainer:
    """Register each ``interface -> instance`` pair, synchronously (the seeds' bootstrap call).

    Without ``services`` nothing is registered and the container is returned as it is: the
    runtime (``onex-infra run``) wires its own services; bootstrap code passes the ones it built.
    Refused inside a running event loop (``wire_infrastructure_services_async`` is for that):
    blocking the loop to wait for the container would stall everything else on it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wire_infrastructure_services_async(container, services or {}))
    raise ProtocolConfigurationError(
        "wire_infrastructure_services is synchronous: inside an event loop, await "
        "wire_infrastructure_services_async(container, services)",
        field="services",
    )


async def wire_infrastructure_services_async(
    container: ModelONEXContainer, services: Mapping[type[object], object]
) -> ModelONEXContainer:
    """Register each ``interface -> instance`` pair (replacing one of the same type).

    Raises ``ProtocolConfigurationError`` when two different types share a name.
    Returns the container for chaining.
    """
    wired = _WIRED.setdefault(container, {})
    names = dict(wired)
    for interface in services:
        known = names.setdefault(interface.__name__, interface)
        if known is not interface:
            raise ProtocolConfigurationError(
                f"cannot register {_qualified(interface)}: the container keys services by type "
                f"name and {_qualified(known)} is already registered under that name",
                field="services",
            )
    wired.update(names)
    registry = container.service_registry
    for interface, instance in services.items():
        for registration in await registry.get_registrations_by_interface(interface):
            await registry.unregister_service(registration.registration_id)
        await registry.register_instance(interface=interface, instance=instance)
    return container


def _qualified(cls: type[object]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
