"""The ingress as a runtime component: served next to the hub once the bus is up, stopped
first when the runtime stops (so nothing is accepted that the drain would miss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.ingress.app import create_ingress_app
from omnibase_infra.ingress.auth import IngressAuthenticator
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.ingress.routed_types import routed_types_of
from omnibase_infra.ingress.stream import TopicStreams
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.http.server import HubServer

if TYPE_CHECKING:
    from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["IngressComponent", "ingress_components", "ingress_server"]

_log = get_logger(__name__)


def ingress_components(settings: ModelIngressSettings) -> list[IngressComponent]:
    """The ingress component when ``ingress.enabled``, else none."""
    return [IngressComponent(settings)] if settings.enabled else []


def ingress_server(app: FastAPI, host: str, port: int) -> HubServer:
    """The ingress's HTTP server: no ``X-Forwarded-For`` trusted, so a client on the host cannot
    pick the address its rate limit is counted under (and no per-request proxy middleware)."""
    return HubServer(app, host, port, name="ingress", setting="ingress.port", proxy_headers=False)


class IngressComponent:
    """Serves ``POST /v1/events/{topic}`` and ``GET .../stream`` on ``ingress.host:port``."""

    def __init__(self, settings: ModelIngressSettings) -> None:
        self._settings = settings
        self._server: HubServer | None = None
        self._streams: TopicStreams | None = None
        self._keycloak: HandlerKeycloak | None = None
        self.port: int | None = None

    @property
    def name(self) -> str:
        """``ingress``."""
        return "ingress"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Read the OIDC provider (when auth is configured), then bind and serve."""
        settings = self._settings
        authenticator = None
        if settings.auth is not None:
            self._keycloak = HandlerKeycloak(settings.auth.oidc)
            await self._keycloak.start()
            authenticator = IngressAuthenticator(
                self._keycloak, settings.auth.roles, settings.auth.oidc.audience or ()
            )
        app = create_ingress_app(
            host.bus, settings, authenticator, _routed_types(host), _known_topics(host)
        )
        self._streams = app.streams
        self._server = ingress_server(app, settings.host, settings.port)
        self.port = await self._server.start()
        if authenticator is None:
            _log.warning(
                "ingress without authentication: bound to loopback only",
                url=f"http://{settings.host}:{self.port}",
            )
        else:
            _log.info("ingress listening", url=f"http://{settings.host}:{self.port}", auth="oidc")

    async def stop(self) -> None:
        """End the open streams, stop accepting, finish open requests, close the token
        validator; idempotent."""
        streams, self._streams = self._streams, None
        if streams is not None:
            streams.close()  # an open stream would hold the server's stop until its client left
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        if streams is not None:
            await streams.wait_left()
        keycloak, self._keycloak = self._keycloak, None
        if keycloak is not None:
            await keycloak.close()


def _known_topics(host: ProtocolComponentHost) -> frozenset[str] | None:
    """The topics the runtime's loaded nodes subscribe to (with their dead-letter topics) and
    publish to, from their contracts (a plugin node that only publishes counts too); None when
    the runtime holds no contracts."""
    from omnibase_infra.event_bus.topics import dlq_topic_for
    from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts

    loaded = host.container.get_service_optional(ModelLoadedContracts)
    if not isinstance(loaded, ModelLoadedContracts):
        return None
    topics: set[str] = set()
    for contract in loaded.contracts:
        for topic in contract.subscribe_topics:
            topics.update((topic, dlq_topic_for(topic)))
        topics.update(contract.publish_topics)
    return frozenset(topics)


def _routed_types(host: ProtocolComponentHost) -> dict[str, frozenset[str]] | None:
    """On the runtime's own in-memory bus, the payload types its nodes take per topic (a type
    no node takes would only reach the DLQ); None on a shared bus (Kafka), where another
    runtime's nodes may take it."""
    from omnibase_infra.dispatch.engine import MessageDispatchEngine
    from omnibase_infra.event_bus.inmemory import EventBusInmemory

    if not isinstance(host.bus, EventBusInmemory):
        return None
    engine = host.container.get_service_optional(MessageDispatchEngine)
    if not isinstance(engine, MessageDispatchEngine):
        return None
    return routed_types_of((route.topic, route.payload_type) for route in engine.routes)
