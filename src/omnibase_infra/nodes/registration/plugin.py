"""Registration as a node plugin: its settings, its shared storage, its start-up component.

Published in the ``onex.node_plugins`` entry point group; the runtime validates the config's
``nodes.registration`` section (or the older top-level ``registration:``) with
``ModelRegistrationSettings`` and calls ``build``. Only the settings model is imported here:
the rest is imported when the plugin is built, so reading a config stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.runtime.plugins.model_node_plugin_build import ModelNodePluginBuild

__all__ = ["PLUGIN", "REGISTRATION_NODES", "RegistrationPlugin"]

# The nodes of the registration workflow (they need registration.storage).
REGISTRATION_NODES: tuple[str, ...] = (
    "node_registration_orchestrator",
    "node_registration_reducer",
    "node_registry_effect",
)


class RegistrationPlugin:
    """Builds registration's share of a runtime (see module docstring)."""

    @property
    def name(self) -> str:
        """``registration``: its settings are ``nodes.registration``."""
        return "registration"

    @property
    def settings_model(self) -> type[BaseModel]:
        """``ModelRegistrationSettings``."""
        return ModelRegistrationSettings

    @property
    def nodes(self) -> tuple[str, ...]:
        """The orchestrator, the reducer and the effect."""
        return REGISTRATION_NODES

    def build(
        self, settings: BaseModel, services: Mapping[type[object], object]
    ) -> ModelNodePluginBuild:
        """The settings and one storage for every node, the start-up component and the clock;
        unavailable without PostgreSQL."""
        from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
        from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
        from omnibase_infra.nodes.registration.component import RegistrationComponent
        from omnibase_infra.nodes.registration.fleet_source import RegistrationFleetSource
        from omnibase_infra.runtime.dashboard.protocol_fleet_source import ProtocolFleetSource

        assert isinstance(settings, ModelRegistrationSettings)  # validated with settings_model
        postgres = services.get(HandlerPostgres)
        if not isinstance(postgres, HandlerPostgres):
            return ModelNodePluginBuild(
                tick_interval_seconds=settings.tick_interval_seconds,
                unavailable="postgres.mode is disabled and registration needs registration.storage",
            )
        storage = RegistrationStorage(postgres)
        return ModelNodePluginBuild(
            services={
                ModelRegistrationSettings: settings,
                RegistrationStorage: storage,
                ProtocolFleetSource: RegistrationFleetSource(storage),
            },
            components=[RegistrationComponent()],
            tick_interval_seconds=settings.tick_interval_seconds,
        )


PLUGIN = RegistrationPlugin()
