"""What a runtime component sees of the host: the bus, the container, the hub's routers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # Annotations only: the runtime config imports this protocol (through the node plugins)
    # before a Kafka runtime's groups begin joining, and fastapi and the container cost
    # ~0.3 s there.
    from fastapi import APIRouter

    from omnibase_infra._core import ModelONEXContainer
    from omnibase_infra.event_bus.base import EventBusBase

__all__ = ["ProtocolComponentHost"]


class ProtocolComponentHost(Protocol):
    """The host as its components use it (``RuntimeHostProcess`` is one).

    Narrow on purpose: a component (a node's included) publishes on the bus, resolves the
    services it needs from the container and mounts routers; it never reaches into the host.
    """

    @property
    def bus(self) -> EventBusBase:
        """The bus the host consumes from and publishes to."""
        ...

    @property
    def container(self) -> ModelONEXContainer:
        """The container, with every service wired (contracts and node settings included)."""
        ...

    def add_router(self, router: APIRouter) -> None:
        """Mount a router on the hub."""
        ...
