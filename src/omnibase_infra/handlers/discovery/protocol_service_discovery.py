"""The ``registration.discovery`` capability: register instances, report health, find them, KV.

Implemented by ``HandlerConsul`` (production, Consul's HTTP API) and ``HandlerDiscoveryLocal``
(local profile, in process). Both follow Consul's semantics, so one behavioural suite runs
against either (and against a real agent): checks start critical unless told otherwise, a TTL
check goes critical when not renewed in time, health reads return passing instances only, reads
can block until their ``index`` moves, and a KV write with ``cas`` only lands when the key's
``modify_index`` still matches (``cas=0``: only when the key does not exist yet).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelKvEntry,
    ModelKvReadResult,
    ModelServiceCatalog,
    ModelServiceInstances,
    ModelServiceRegistration,
)

__all__ = ["ProtocolServiceDiscovery"]


@runtime_checkable
class ProtocolServiceDiscovery(Protocol):
    """Service registry operations; errors come from ``omnibase_infra.errors``."""

    async def register_service(self, registration: ModelServiceRegistration) -> None:
        """Register (or replace) an instance and its checks."""
        ...

    async def deregister_service(self, service_id: str) -> bool:
        """Remove an instance and its checks; False when no such instance was registered."""
        ...

    async def update_ttl_check(
        self, check_id: str, status: EnumCheckStatus, note: str = ""
    ) -> bool:
        """Set a TTL check's status and restart its TTL; False when no such check exists.

        Raises a non-retriable ``RuntimeHostError`` when the check exists but is not a TTL check.
        """
        ...

    async def healthy_instances(
        self,
        service_name: str,
        *,
        tag: str | None = None,
        blocking: ModelBlockingQuery | None = None,
    ) -> ModelServiceInstances:
        """Instances of ``service_name`` whose every check is passing (optionally with ``tag``)."""
        ...

    async def list_instances(
        self, service_name: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceInstances:
        """Every registered instance of ``service_name``, whatever its health."""
        ...

    async def list_services(
        self, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceCatalog:
        """Every registered service name with its instances' tags."""
        ...

    async def kv_get(
        self, key: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelKvReadResult:
        """Read one key (``entry`` is None when it does not exist)."""
        ...

    async def kv_list(self, prefix: str) -> tuple[ModelKvEntry, ...]:
        """Every entry whose key starts with ``prefix``, ordered by key."""
        ...

    async def kv_put(
        self, key: str, value: bytes, *, cas: int | None = None, flags: int = 0
    ) -> bool:
        """Write a key; with ``cas`` only if its modify index still matches (False otherwise)."""
        ...

    async def kv_delete(self, key: str, *, cas: int | None = None) -> bool:
        """Delete a key (absent is fine); with ``cas`` only if its modify index still matches."""
        ...
