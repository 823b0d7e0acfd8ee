"""Local discovery: ``registration.discovery`` in process, for the zero-configuration profile.

Same contract as ``HandlerConsul`` (Consul's semantics, see ``ProtocolServiceDiscovery``), kept
in memory by ``DiscoveryLocalCatalog``: nothing to install, nothing survives a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelKvEntry,
    ModelKvReadResult,
    ModelServiceCatalog,
    ModelServiceInstance,
    ModelServiceInstances,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.arguments import (
    invalid_argument,
    require_check_id,
    require_kv_key,
    require_kv_prefix,
    require_kv_write,
    require_service_id,
    require_service_name,
    require_tag,
)
from omnibase_infra.handlers.discovery.local_catalog import (
    CatalogServiceView,
    Clock,
    DiscoveryLocalCatalog,
    EnumTtlUpdate,
)
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult

__all__ = ["HandlerDiscoveryLocal"]

# It stands in for Consul, so its errors and metrics are grouped with Consul's.
_TRANSPORT = EnumInfraTransportType.CONSUL


class HandlerDiscoveryLocal:
    """In-process ``ProtocolServiceDiscovery`` and ``ProtocolInfraHandler``.

    ``clock`` (seconds, monotonic) drives TTL expiry and reaping; tests pass a manual clock.
    """

    def __init__(self, *, clock: Clock = time.monotonic, node_name: str = "local") -> None:
        self._catalog = DiscoveryLocalCatalog(clock=clock, node_name=node_name)

    @property
    def handler_name(self) -> str:
        """``discovery-local``."""
        return "discovery-local"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """CONSUL: the transport it replaces."""
        return _TRANSPORT

    async def start(self) -> None:
        """Nothing to connect to."""

    async def ping(self) -> ModelHealthCheckResult:
        """Always healthy: the catalog lives in this process."""
        return ModelHealthCheckResult(name=self.handler_name, healthy=True)

    async def close(self) -> None:
        """Stop HTTP check polling and release blocked reads."""
        await self._catalog.close()

    # ---- services ------------------------------------------------------------------------

    async def register_service(self, registration: ModelServiceRegistration) -> None:
        """Register or replace an instance and its checks."""
        self._catalog.register(registration, replace_existing_checks=True)

    async def deregister_service(self, service_id: str) -> bool:
        """Remove an instance; False when unknown."""
        require_service_id(service_id, "deregister_service", _TRANSPORT)
        return self._catalog.deregister(service_id)

    async def update_ttl_check(
        self, check_id: str, status: EnumCheckStatus, note: str = ""
    ) -> bool:
        """Set a TTL check's status and restart its TTL; False when the check is unknown."""
        require_check_id(check_id, "update_ttl_check", _TRANSPORT)
        outcome = self._catalog.update_ttl(check_id, EnumCheckStatus(status), note)
        if outcome is EnumTtlUpdate.NOT_TTL:
            raise invalid_argument(
                f"check {check_id!r} is not a TTL check", "update_ttl_check", _TRANSPORT
            )
        return outcome is EnumTtlUpdate.UPDATED

    async def healthy_instances(
        self,
        service_name: str,
        *,
        tag: str | None = None,
        blocking: ModelBlockingQuery | None = None,
    ) -> ModelServiceInstances:
        """Instances whose every check passes."""
        require_service_name(service_name, "healthy_instances", _TRANSPORT)
        if tag is not None:
            require_tag(tag, "healthy_instances", _TRANSPORT)
        await self._block(lambda: self._catalog.service_index(service_name), blocking)
        views = [view for view in self._catalog.services(service_name, tag=tag) if view.passing]
        return self._instances(service_name, views)

    async def list_instances(
        self, service_name: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceInstances:
        """Every instance, whatever its health."""
        require_service_name(service_name, "list_instances", _TRANSPORT)
        await self._block(lambda: self._catalog.service_index(service_name), blocking)
        return self._instances(service_name, self._catalog.services(service_name))

    async def list_services(
        self, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceCatalog:
        """Every service name with its tags."""
        await self._block(lambda: self._catalog.catalog_index, blocking)
        return ModelServiceCatalog(
            services=self._catalog.service_tags(), index=self._catalog.catalog_index
        )

    def _instances(
        self, service_name: str, views: list[CatalogServiceView]
    ) -> ModelServiceInstances:
        return ModelServiceInstances(
            service_name=service_name,
            instances=tuple(
                ModelServiceInstance(
                    service_id=view.registration.service_id,
                    service_name=view.registration.name,
                    node=self._catalog.node_name,
                    address=view.registration.address or self._catalog.node_address,
                    port=view.registration.port or 0,
                    tags=view.registration.tags,
                    meta=dict(view.registration.meta),
                )
                for view in views
            ),
            index=self._catalog.service_index(service_name),
        )

    async def _block(
        self, index_of: Callable[[], int], blocking: ModelBlockingQuery | None
    ) -> None:
        if blocking is not None:
            await self._catalog.block(index_of, blocking.index, blocking.wait_seconds)

    # ---- key/value -----------------------------------------------------------------------

    async def kv_get(
        self, key: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelKvReadResult:
        """Read one key."""
        require_kv_key(key, "kv_get", _TRANSPORT)
        await self._block(lambda: self._catalog.kv.index(key), blocking)
        return ModelKvReadResult(
            key=key, entry=self._catalog.kv.get(key), index=self._catalog.kv.index(key)
        )

    async def kv_list(self, prefix: str) -> tuple[ModelKvEntry, ...]:
        """Entries under ``prefix``, ordered by key."""
        require_kv_prefix(prefix, "kv_list", _TRANSPORT)
        return tuple(self._catalog.kv.list(prefix))

    async def kv_put(
        self, key: str, value: bytes, *, cas: int | None = None, flags: int = 0
    ) -> bool:
        """Write a key, optionally check-and-set."""
        require_kv_key(key, "kv_put", _TRANSPORT)
        require_kv_write(value, cas, flags, "kv_put", _TRANSPORT)
        return self._catalog.kv.put(key, bytes(value), flags=flags, cas=cas)

    async def kv_delete(self, key: str, *, cas: int | None = None) -> bool:
        """Delete a key, optionally check-and-set."""
        require_kv_key(key, "kv_delete", _TRANSPORT)
        require_kv_write(b"", cas, 0, "kv_delete", _TRANSPORT)
        return self._catalog.kv.delete(key, cas=cas)
