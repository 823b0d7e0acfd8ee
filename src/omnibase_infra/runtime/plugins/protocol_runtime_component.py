"""Something the host starts with it: migrations, the runtime's clock, a node's extras."""

from __future__ import annotations

from typing import Protocol

from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["ProtocolRuntimeComponent"]


class ProtocolRuntimeComponent(Protocol):
    """Something the host starts after wiring and stops before closing handlers."""

    @property
    def name(self) -> str:
        """Name in logs and readiness reports."""
        ...

    async def start(self, host: ProtocolComponentHost) -> None:
        """Start (may publish, mount routers, spawn bounded background tasks)."""
        ...

    async def stop(self) -> None:
        """Stop background work; safe to call when not started."""
        ...
