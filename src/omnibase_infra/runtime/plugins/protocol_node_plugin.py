"""A node plugin: a set of nodes' settings and infrastructure, found through an entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from omnibase_infra.runtime.plugins.model_node_plugin_build import ModelNodePluginBuild

__all__ = ["ProtocolNodePlugin"]


@runtime_checkable
class ProtocolNodePlugin(Protocol):
    """What the runtime knows of a set of nodes: nothing but this.

    Published as an object in the ``onex.node_plugins`` entry point group. Its settings are
    the runtime config's ``nodes.<name>`` section, validated by ``settings_model``.
    """

    @property
    def name(self) -> str:
        """The plugin's key under ``nodes:`` in the runtime config."""
        ...

    @property
    def settings_model(self) -> type[BaseModel]:
        """The model its settings section is validated with (defaults when absent)."""
        ...

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes (contract names) it serves: left out when it is ``unavailable``."""
        ...

    def build(
        self, settings: BaseModel, services: Mapping[type[object], object]
    ) -> ModelNodePluginBuild:
        """Its services and components, from its validated settings and the runtime's
        services so far (handlers by type); or why its nodes cannot run."""
        ...
