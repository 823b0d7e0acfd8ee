"""The health monitor as a node plugin: its settings (``nodes.health_monitor``), its component.

Published in the ``onex.node_plugins`` entry point group. It needs nothing the runtime may
lack (it watches whatever handlers the runtime owns, and the bus), so it is unavailable only
when ``nodes.health_monitor.enabled`` is false.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_health_monitor_settings import (  # noqa: E501
    ModelHealthMonitorSettings,
)
from omnibase_infra.runtime.plugins.model_node_plugin_build import ModelNodePluginBuild

__all__ = ["PLUGIN", "HealthMonitorPlugin"]


class HealthMonitorPlugin:
    """Adds the monitor's component to a runtime (see module docstring)."""

    @property
    def name(self) -> str:
        """``health_monitor``: its settings are ``nodes.health_monitor``."""
        return "health_monitor"

    @property
    def settings_model(self) -> type[BaseModel]:
        """``ModelHealthMonitorSettings``."""
        return ModelHealthMonitorSettings

    @property
    def nodes(self) -> tuple[str, ...]:
        """The monitor orchestrator."""
        return ("node_infrastructure_health_monitor_orchestrator",)

    def build(
        self, settings: BaseModel, services: Mapping[type[object], object]
    ) -> ModelNodePluginBuild:
        """The monitor's component; unavailable when disabled."""
        from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.monitor import (
            HealthMonitorComponent,
        )

        assert isinstance(settings, ModelHealthMonitorSettings)  # validated with settings_model
        if not settings.enabled:
            return ModelNodePluginBuild(unavailable="nodes.health_monitor.enabled is false")
        return ModelNodePluginBuild(components=[HealthMonitorComponent(settings)])


PLUGIN = HealthMonitorPlugin()
