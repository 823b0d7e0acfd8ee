"""``registration.discovery``: a registration as a service instance with a TTL health check.

The service id is the node id, so registering again replaces the instance (idempotent); the
TTL check is passed on every heartbeat and expires on its own if the registry itself dies. If
the agent lost the instance (restarted), a heartbeat or state update registers it again.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)

__all__ = ["RegistrationDiscovery", "check_id_for", "service_registration_for"]

_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_TAG = re.compile(r"\s+")
# Consul's floor for deregister_critical_service_after; a safety net if our deregister is lost.
_DEREGISTER_CRITICAL_FLOOR_SECONDS = 60.0
_CHECK_STATUS = {
    EnumRegistrationState.PENDING: EnumCheckStatus.PASSING,
    EnumRegistrationState.ACCEPTED: EnumCheckStatus.PASSING,
    EnumRegistrationState.ACTIVE: EnumCheckStatus.PASSING,
    EnumRegistrationState.STALE: EnumCheckStatus.WARNING,
}


def check_id_for(record: ModelRegistrationRecord) -> str:
    """The id of a registration's liveness check."""
    return f"onex-liveness:{record.node_id}"


def service_registration_for(
    record: ModelRegistrationRecord, ttl_seconds: float
) -> ModelServiceRegistration:
    """The service instance that stands for ``record`` in discovery."""
    address: str | None = None
    port: int | None = None
    if record.health_endpoint:
        parts = urlsplit(record.health_endpoint)
        try:
            address, port = parts.hostname, parts.port
        except ValueError:
            # Stored before endpoints were validated on arrival: register without an address
            # rather than fail every heartbeat of the node (and the liveness tick with it).
            address, port = None, None
    tags = dict.fromkeys(
        _NOT_TAG.sub("-", tag)[:64]
        for tag in (f"onex-{record.node_type}", f"v{record.node_version}", *record.capabilities)
        if tag
    )
    return ModelServiceRegistration(
        service_id=str(record.node_id),
        name=_NOT_NAME.sub("-", record.node_name).strip("-._")[:200] or "onex-node",
        address=address,
        port=port,
        tags=tuple(tags)[:64],
        meta={
            "onex_node_id": str(record.node_id),
            "onex_node_type": record.node_type,
            "onex_node_version": record.node_version[:512],
        },
        checks=(
            ModelDiscoveryCheck(
                check_id=check_id_for(record),
                name="ONEX heartbeat",
                ttl_seconds=ttl_seconds,
                deregister_critical_after_seconds=max(
                    ttl_seconds * 2, _DEREGISTER_CRITICAL_FLOOR_SECONDS
                ),
                initial_status=EnumCheckStatus.PASSING,
            ),
        ),
    )


class RegistrationDiscovery:
    """Applies registration intents to a ``ProtocolServiceDiscovery`` backend."""

    def __init__(self, backend: ProtocolServiceDiscovery, ttl_seconds: float) -> None:
        self._backend = backend
        self._ttl = ttl_seconds

    async def apply(self, intent: ModelRegistrationIntent) -> None:
        """Make discovery match ``intent`` (idempotent)."""
        record = intent.record
        if intent.kind is EnumRegistrationIntentKind.REGISTER:
            await self._backend.register_service(service_registration_for(record, self._ttl))
        elif intent.kind is EnumRegistrationIntentKind.DEREGISTER:
            await self._backend.deregister_service(str(record.node_id))
        else:
            status = _CHECK_STATUS.get(record.state, EnumCheckStatus.PASSING)
            if not await self._backend.update_ttl_check(check_id_for(record), status):
                await self._backend.register_service(service_registration_for(record, self._ttl))

    async def remove(self, intent: ModelRegistrationIntent) -> None:
        """Undo a registration (compensation)."""
        await self._backend.deregister_service(str(intent.record.node_id))
