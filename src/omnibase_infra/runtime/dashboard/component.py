"""The dashboard as a runtime component: served once the host wired its services, stopped
with the runtime (its open streams end first)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts
from omnibase_infra.runtime.dashboard.app import create_dashboard_app
from omnibase_infra.runtime.dashboard.feed import DashboardFeed
from omnibase_infra.runtime.dashboard.model_dashboard_settings import ModelDashboardSettings
from omnibase_infra.runtime.dashboard.protocol_fleet_source import ProtocolFleetSource
from omnibase_infra.runtime.documents.contract_graphs import contract_graph, has_graph
from omnibase_infra.runtime.http.server import HubServer

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig
    from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["DashboardComponent", "dashboard_components"]

_log = get_logger(__name__)


def dashboard_components(config: ModelRuntimeConfig) -> list[DashboardComponent]:
    """The dashboard when ``dashboard.enabled`` (unset: in the local profile), else none."""
    settings = config.dashboard
    return [DashboardComponent(settings, config.service)] if settings.serves(config.profile) else []


class DashboardComponent:
    """Serves the dashboard on ``dashboard.host:dashboard.port`` (see ``runtime.dashboard``)."""

    def __init__(self, settings: ModelDashboardSettings, service: str = "omnibase-infra") -> None:
        self._settings = settings
        self._service = service
        self._server: HubServer | None = None
        self._stopping = asyncio.Event()
        self.port: int | None = None

    @property
    def name(self) -> str:
        """``dashboard``."""
        return "dashboard"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Draw the loaded contracts' graphs, find the fleet source (if any), bind and serve."""
        container = host.container
        loaded = container.get_service(ModelLoadedContracts)
        contracts = sorted((c for c in loaded.contracts if has_graph(c)), key=lambda c: c.name)
        graphs = [contract_graph(c) for c in contracts]
        source = container.get_service_optional(ProtocolFleetSource)  # type: ignore[type-abstract]
        feed = DashboardFeed(source, self._settings.interval_seconds)
        app = create_dashboard_app(
            feed, graphs, self._settings, self._stopping, title=f"ONEX runtime {self._service}"
        )
        self._server = HubServer(
            app,
            self._settings.host,
            self._settings.port,
            name="dashboard",
            setting="dashboard.port",
        )
        self.port = await self._server.start()
        _log.info(
            "dashboard listening",
            url=f"http://{self._settings.host}:{self.port}/",
            graphs=[g.node_name for g in graphs],
            fleet=source is not None,
        )

    async def stop(self) -> None:
        """End the open streams, then stop serving; idempotent."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
