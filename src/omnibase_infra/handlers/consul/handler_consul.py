"""Consul handler: ``registration.discovery`` over Consul's HTTP API with ``httpx.AsyncClient``.

Endpoints: ``agent/service/register|deregister``, ``agent/check/pass|warn|fail``,
``health/service/:name?passing``, ``catalog/services``, ``catalog/service/:name``, ``kv/:key``
(base64 values, ``?cas=``), blocking reads with ``?index=&wait=`` answered with
``X-Consul-Index``, ``status/leader`` for ping.

Requests, replies and error translation live in ``client.ConsulClient``; here, the
operations: 404 on deregister or a check update means "no such service/check" (False). The ACL
token is a ``SecretStr``, registered with the sanitiser, sent only in the ``X-Consul-Token``
header, never logged.
"""

from __future__ import annotations

import json
import time
from typing import TypeVar

import httpx
from pydantic import StrictBool, StrictStr, TypeAdapter, ValidationError

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.handlers.consul.client import (
    TRANSPORT,
    ConsulClient,
    elapsed_ms,
    index_of,
    key_path,
    segment,
    unexpected_reply,
)
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.consul.wire import (
    CATALOG_SERVICE_ENTRIES,
    CATALOG_SERVICES,
    HEALTH_SERVICE_ENTRIES,
    KV_PAIRS,
    ConsulKvPair,
    kv_entry,
    service_definition,
)
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
    require_check_id,
    require_kv_key,
    require_kv_prefix,
    require_kv_write,
    require_service_id,
    require_service_name,
    require_tag,
)
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import register_secret

__all__ = ["HandlerConsul"]

_log = get_logger(__name__)
_T = TypeVar("_T")

_TTL_PATHS = {
    EnumCheckStatus.PASSING: "pass",
    EnumCheckStatus.WARNING: "warn",
    EnumCheckStatus.CRITICAL: "fail",
}
_JSON_BOOL: TypeAdapter[bool] = TypeAdapter(StrictBool)
_JSON_STR: TypeAdapter[str] = TypeAdapter(StrictStr)


class HandlerConsul:
    """``ProtocolServiceDiscovery`` and ``ProtocolInfraHandler`` against one Consul agent."""

    def __init__(
        self,
        settings: ModelConsulSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._http = ConsulClient(settings, transport)
        if settings.token is not None:
            register_secret(settings.token.get_secret_value())

    def __repr__(self) -> str:
        return f"HandlerConsul(target={self._settings.target_name!r})"

    @property
    def handler_name(self) -> str:
        """``consul``."""
        return "consul"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``CONSUL``."""
        return TRANSPORT

    @property
    def settings(self) -> ModelConsulSettings:
        """The settings this handler was built with (the token stays a ``SecretStr``)."""
        return self._settings

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client; unless told otherwise, check the agent answers (``status/leader``)."""
        self._http.open()
        if self._settings.verify_on_start:
            await self._leader("start")
        _log.info("consul handler started", target=self._settings.target_name)

    async def ping(self) -> ModelHealthCheckResult:
        """``GET /v1/status/leader``: healthy when the agent answers and knows a leader."""
        started = time.perf_counter()
        try:
            leader = await self._leader("ping")
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, elapsed_ms(started))
        latency = elapsed_ms(started)
        if not leader:
            return ModelHealthCheckResult(
                name=self.handler_name, healthy=False, latency_ms=latency, detail="no leader"
            )
        return ModelHealthCheckResult(name=self.handler_name, healthy=True, latency_ms=latency)

    async def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        await self._http.close()

    async def _leader(self, operation: str) -> str:
        _, body = await self._http.send("GET", "/v1/status/leader", operation)
        return self._http.parse(_JSON_STR, body, operation)

    # ---- services ------------------------------------------------------------------------

    async def register_service(self, registration: ModelServiceRegistration) -> None:
        """``PUT /v1/agent/service/register?replace-existing-checks=true``."""
        await self._http.send(
            "PUT",
            "/v1/agent/service/register",
            "register_service",
            params={"replace-existing-checks": "true"},
            content=json.dumps(service_definition(registration)).encode(),
        )

    async def deregister_service(self, service_id: str) -> bool:
        """``PUT /v1/agent/service/deregister/:id``; False when the agent does not know it."""
        operation = "deregister_service"
        require_service_id(service_id, operation, TRANSPORT)
        response, _ = await self._http.send(
            "PUT",
            f"/v1/agent/service/deregister/{segment(service_id)}",
            operation,
            not_found_ok=True,
            old_not_found="Unknown service",
        )
        return response.status_code == 200

    async def update_ttl_check(
        self, check_id: str, status: EnumCheckStatus, note: str = ""
    ) -> bool:
        """``PUT /v1/agent/check/pass|warn|fail/:id?note=``; False when the check is unknown."""
        operation = "update_ttl_check"
        require_check_id(check_id, operation, TRANSPORT)
        params = {"note": note} if note else None
        response, _ = await self._http.send(
            "PUT",
            f"/v1/agent/check/{_TTL_PATHS[EnumCheckStatus(status)]}/{segment(check_id)}",
            operation,
            params=params,
            not_found_ok=True,
            old_not_found="Unknown check",
        )
        return response.status_code == 200

    async def healthy_instances(
        self,
        service_name: str,
        *,
        tag: str | None = None,
        blocking: ModelBlockingQuery | None = None,
    ) -> ModelServiceInstances:
        """``GET /v1/health/service/:name?passing=true``: instances whose every check passes."""
        operation = "healthy_instances"
        require_service_name(service_name, operation, TRANSPORT)
        params = self._http.read_params(blocking)
        params["passing"] = "true"
        if tag is not None:
            params["tag"] = require_tag(tag, operation, TRANSPORT)
        response, body = await self._http.send(
            "GET",
            f"/v1/health/service/{segment(service_name)}",
            operation,
            params=params,
            blocking=blocking,
        )
        entries = self._http.parse(HEALTH_SERVICE_ENTRIES, body, operation)
        instances = [
            ModelServiceInstance(
                service_id=entry["Service"]["ID"],
                service_name=entry["Service"]["Service"],
                node=entry["Node"]["Node"],
                address=entry["Service"].get("Address") or entry["Node"]["Address"],
                port=entry["Service"].get("Port") or 0,
                tags=tuple(entry["Service"].get("Tags") or ()),
                meta=dict(entry["Service"].get("Meta") or {}),
            )
            for entry in entries
        ]
        return self._instances(service_name, instances, response)

    async def list_instances(
        self, service_name: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceInstances:
        """``GET /v1/catalog/service/:name``: every instance, whatever its health."""
        operation = "list_instances"
        require_service_name(service_name, operation, TRANSPORT)
        response, body = await self._http.send(
            "GET",
            f"/v1/catalog/service/{segment(service_name)}",
            operation,
            params=self._http.read_params(blocking),
            blocking=blocking,
        )
        entries = self._http.parse(CATALOG_SERVICE_ENTRIES, body, operation)
        instances = [
            ModelServiceInstance(
                service_id=entry["ServiceID"],
                service_name=entry["ServiceName"],
                node=entry["Node"],
                address=entry.get("ServiceAddress") or entry["Address"],
                port=entry.get("ServicePort") or 0,
                tags=tuple(entry.get("ServiceTags") or ()),
                meta=dict(entry.get("ServiceMeta") or {}),
            )
            for entry in entries
        ]
        return self._instances(service_name, instances, response)

    async def list_services(
        self, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelServiceCatalog:
        """``GET /v1/catalog/services``: every service name with its tags."""
        operation = "list_services"
        response, body = await self._http.send(
            "GET",
            "/v1/catalog/services",
            operation,
            params=self._http.read_params(blocking),
            blocking=blocking,
        )
        services = self._http.parse(CATALOG_SERVICES, body, operation)
        return ModelServiceCatalog(
            services={
                name: tuple(sorted(set(tags or ()))) for name, tags in sorted(services.items())
            },
            index=index_of(response),
        )

    @staticmethod
    def _instances(
        service_name: str, instances: list[ModelServiceInstance], response: httpx.Response
    ) -> ModelServiceInstances:
        instances.sort(key=lambda instance: (instance.service_id, instance.node))
        return ModelServiceInstances(
            service_name=service_name, instances=tuple(instances), index=index_of(response)
        )

    # ---- key/value -----------------------------------------------------------------------

    async def kv_get(
        self, key: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelKvReadResult:
        """``GET /v1/kv/:key``; a missing key is ``entry=None``."""
        operation = "kv_get"
        require_kv_key(key, operation, TRANSPORT)
        response, body = await self._http.send(
            "GET",
            f"/v1/kv/{key_path(key)}",
            operation,
            params=self._http.read_params(blocking),
            blocking=blocking,
            not_found_ok=True,
        )
        entry = None
        if response.status_code == 200:
            pairs = self._http.parse(KV_PAIRS, body, operation)
            entry = self._kv_entry(pairs[0], operation) if pairs else None
        return ModelKvReadResult(key=key, entry=entry, index=index_of(response))

    async def kv_list(self, prefix: str) -> tuple[ModelKvEntry, ...]:
        """``GET /v1/kv/:prefix?recurse=true``, ordered by key."""
        operation = "kv_list"
        require_kv_prefix(prefix, operation, TRANSPORT)
        params = self._http.read_params(None)
        params["recurse"] = "true"
        response, body = await self._http.send(
            "GET", f"/v1/kv/{key_path(prefix)}", operation, params=params, not_found_ok=True
        )
        if response.status_code != 200:
            return ()
        pairs = self._http.parse(KV_PAIRS, body, operation)
        return tuple(
            sorted((self._kv_entry(pair, operation) for pair in pairs), key=lambda e: e.key)
        )

    async def kv_put(
        self, key: str, value: bytes, *, cas: int | None = None, flags: int = 0
    ) -> bool:
        """``PUT /v1/kv/:key[?cas=&flags=]``; False when the check-and-set lost."""
        operation = "kv_put"
        require_kv_key(key, operation, TRANSPORT)
        require_kv_write(value, cas, flags, operation, TRANSPORT)
        params = self._http.read_params(None)
        if cas is not None:
            params["cas"] = str(cas)
        if flags:
            params["flags"] = str(flags)
        _, body = await self._http.send(
            "PUT",
            f"/v1/kv/{key_path(key)}",
            operation,
            params=params,
            content=bytes(value),
            content_type="application/octet-stream",
        )
        return self._http.parse(_JSON_BOOL, body, operation)

    async def kv_delete(self, key: str, *, cas: int | None = None) -> bool:
        """``DELETE /v1/kv/:key[?cas=]``; False when the check-and-set lost."""
        operation = "kv_delete"
        require_kv_key(key, operation, TRANSPORT)
        require_kv_write(b"", cas, 0, operation, TRANSPORT)
        params = self._http.read_params(None)
        if cas is not None:
            params["cas"] = str(cas)
        _, body = await self._http.send(
            "DELETE", f"/v1/kv/{key_path(key)}", operation, params=params
        )
        return self._http.parse(_JSON_BOOL, body, operation)

    def _kv_entry(self, pair: ConsulKvPair, operation: str) -> ModelKvEntry:
        try:
            return kv_entry(pair)
        except (ValidationError, ValueError) as e:
            raise unexpected_reply(operation, self._http.context(operation)) from e
