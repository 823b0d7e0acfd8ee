"""Starts registration with the runtime: ``/registry`` on the hub, and a call for introspection.

At start the registry asks every node to introspect again (core's request-introspection
event), so a registry that restarted, or started after its nodes, learns about them at once
instead of waiting for their next heartbeat.
"""

from __future__ import annotations

from uuid import uuid4

from omnibase_infra._core import ModelRequestIntrospectionEvent
from omnibase_infra.event_bus.codec import new_envelope
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.registry_api import create_registry_router
from omnibase_infra.nodes.registration.topics import TOPIC_REQUEST_INTROSPECTION
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["RegistrationComponent"]


class RegistrationComponent:
    """Mounts ``/registry`` and broadcasts a request for introspection at start."""

    def __init__(self) -> None:
        self.registry_id = uuid4()

    @property
    def name(self) -> str:
        """``registration``."""
        return "registration"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Mount the router and ask every node to introspect (node_id == requester_id: all)."""
        storage = host.container.get_service(RegistrationStorage)
        host.add_router(create_registry_router(storage))
        request = ModelRequestIntrospectionEvent(
            node_id=self.registry_id, requester_id=self.registry_id
        )
        envelope = new_envelope(request, correlation_id=None, producer="registry")
        await host.bus.publish_envelope(envelope, TOPIC_REQUEST_INTROSPECTION)

    async def stop(self) -> None:
        """Nothing to stop."""
