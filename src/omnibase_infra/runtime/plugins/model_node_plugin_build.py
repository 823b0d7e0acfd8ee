"""What a node plugin adds to a runtime: services, components, a clock, or why it cannot."""

from __future__ import annotations

from dataclasses import dataclass, field

from omnibase_infra.runtime.plugins.protocol_runtime_component import ProtocolRuntimeComponent

__all__ = ["ModelNodePluginBuild"]


@dataclass(frozen=True)
class ModelNodePluginBuild:
    """A node plugin's share of the infrastructure (see ``ProtocolNodePlugin.build``).

    ``services`` join the container (built once, shared by every node that resolves them);
    ``components`` start with the host; ``tick_interval_seconds`` is the pace it asks of the
    runtime's clock (one ticker, at the shortest interval asked; honoured even when
    unavailable, since other nodes may keep time by it); ``unavailable`` says why the
    plugin's nodes cannot run with this config (they are then not loaded, and its services
    and components are not added).
    """

    services: dict[type[object], object] = field(default_factory=dict)
    components: list[ProtocolRuntimeComponent] = field(default_factory=list)
    tick_interval_seconds: float | None = None
    unavailable: str | None = None
