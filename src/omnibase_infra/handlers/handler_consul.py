"""Consul handler: ``registration.discovery`` over Consul's HTTP API with ``httpx.AsyncClient``.

Endpoints: ``agent/service/register|deregister``, ``agent/check/pass|warn|fail``,
``health/service/:name?passing``, ``catalog/services``, ``catalog/service/:name``, ``kv/:key``
(base64 values, ``?cas=``), blocking reads with ``?index=&wait=`` answered with
``X-Consul-Index``, ``status/leader`` for ping.

Errors are translated as in ``httpx_support`` (timeouts -> ``InfraTimeoutError``, connection
failures and 5xx -> ``InfraConnectionError``/``InfraUnavailableError``, 401/403 ->
``InfraAuthenticationError``, other 4xx -> non-retriable ``RuntimeHostError``), plus Consul's
own answers: 404 on deregister or a check update means "no such service/check" (False), a status
update of a check that is not a TTL check is a non-retriable error, and a reply that is not the
documented JSON is a non-retriable error. The ACL token is a ``SecretStr``, registered with the
sanitiser, sent only in the ``X-Consul-Token`` header, never logged.
"""

from __future__ import annotations

import json
import time
from typing import TypeVar
from urllib.parse import quote

import httpx
from prometheus_client import Counter
from pydantic import StrictBool, StrictStr, TypeAdapter, ValidationError

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.handlers.consul_wire import (
    CATALOG_SERVICE_ENTRIES,
    CATALOG_SERVICES,
    HEALTH_SERVICE_ENTRIES,
    KV_PAIRS,
    ConsulKvPair,
    go_duration,
    kv_entry,
    service_definition,
)
from omnibase_infra.handlers.discovery_arguments import (
    require_check_id,
    require_kv_key,
    require_kv_prefix,
    require_kv_write,
    require_service_id,
    require_service_name,
    require_tag,
)
from omnibase_infra.handlers.httpx_support import (
    error_for_status,
    read_bounded,
    translate_transport_error,
)
from omnibase_infra.handlers.model_consul_settings import ModelConsulSettings
from omnibase_infra.models.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelKvEntry,
    ModelKvReadResult,
    ModelServiceCatalog,
    ModelServiceInstance,
    ModelServiceInstances,
    ModelServiceRegistration,
)
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.sanitize import register_secret

__all__ = ["HandlerConsul"]

_log = get_logger(__name__)
_T = TypeVar("_T")

_TRANSPORT = EnumInfraTransportType.CONSUL
_TOKEN_HEADER = "X-Consul-Token"  # noqa: S105 - a header name, not a credential
_INDEX_HEADER = "X-Consul-Index"
_NOT_TTL = "does not have associated TTL"
_TTL_PATHS = {
    EnumCheckStatus.PASSING: "pass",
    EnumCheckStatus.WARNING: "warn",
    EnumCheckStatus.CRITICAL: "fail",
}
_JSON_BOOL: TypeAdapter[bool] = TypeAdapter(StrictBool)
_JSON_STR: TypeAdapter[str] = TypeAdapter(StrictStr)

_REQUESTS = Counter(
    "onex_consul_requests_total",
    "Consul HTTP API calls by operation and outcome (ok or the error class).",
    ["operation", "outcome"],
    registry=REGISTRY,
)


class HandlerConsul:
    """``ProtocolServiceDiscovery`` and ``ProtocolInfraHandler`` against one Consul agent."""

    def __init__(
        self,
        settings: ModelConsulSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
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
        return _TRANSPORT

    @property
    def settings(self) -> ModelConsulSettings:
        """The settings this handler was built with (the token stays a ``SecretStr``)."""
        return self._settings

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client; unless told otherwise, check the agent answers (``status/leader``)."""
        if self._client is None:
            settings = self._settings
            headers = {"Accept": "application/json", "User-Agent": "omnibase-infra"}
            if settings.token is not None:
                headers[_TOKEN_HEADER] = settings.token.get_secret_value()
            self._client = httpx.AsyncClient(
                base_url=settings.base_url,
                headers=headers,
                timeout=httpx.Timeout(
                    settings.timeout_seconds, connect=settings.connect_timeout_seconds
                ),
                limits=httpx.Limits(max_connections=settings.max_connections),
                follow_redirects=False,
                transport=self._transport,
                trust_env=False,
            )
        if self._settings.verify_on_start:
            await self._leader("start")
        _log.info("consul handler started", target=self._settings.target_name)

    async def ping(self) -> ModelHealthCheckResult:
        """``GET /v1/status/leader``: healthy when the agent answers and knows a leader."""
        started = time.perf_counter()
        try:
            leader = await self._leader("ping")
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, _elapsed_ms(started))
        latency = _elapsed_ms(started)
        if not leader:
            return ModelHealthCheckResult(
                name=self.handler_name, healthy=False, latency_ms=latency, detail="no leader"
            )
        return ModelHealthCheckResult(name=self.handler_name, healthy=True, latency_ms=latency)

    async def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _leader(self, operation: str) -> str:
        _, body = await self._send("GET", "/v1/status/leader", operation)
        return self._parse(_JSON_STR, body, operation)

    # ---- services ------------------------------------------------------------------------

    async def register_service(self, registration: ModelServiceRegistration) -> None:
        """``PUT /v1/agent/service/register?replace-existing-checks=true``."""
        await self._send(
            "PUT",
            "/v1/agent/service/register",
            "register_service",
            params={"replace-existing-checks": "true"},
            content=json.dumps(service_definition(registration)).encode(),
        )

    async def deregister_service(self, service_id: str) -> bool:
        """``PUT /v1/agent/service/deregister/:id``; False when the agent does not know it."""
        operation = "deregister_service"
        require_service_id(service_id, operation, _TRANSPORT)
        response, _ = await self._send(
            "PUT",
            f"/v1/agent/service/deregister/{_segment(service_id)}",
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
        require_check_id(check_id, operation, _TRANSPORT)
        params = {"note": note} if note else None
        response, _ = await self._send(
            "PUT",
            f"/v1/agent/check/{_TTL_PATHS[EnumCheckStatus(status)]}/{_segment(check_id)}",
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
        require_service_name(service_name, operation, _TRANSPORT)
        params = self._read_params(blocking)
        params["passing"] = "true"
        if tag is not None:
            params["tag"] = require_tag(tag, operation, _TRANSPORT)
        response, body = await self._send(
            "GET",
            f"/v1/health/service/{_segment(service_name)}",
            operation,
            params=params,
            blocking=blocking,
        )
        entries = self._parse(HEALTH_SERVICE_ENTRIES, body, operation)
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
        require_service_name(service_name, operation, _TRANSPORT)
        response, body = await self._send(
            "GET",
            f"/v1/catalog/service/{_segment(service_name)}",
            operation,
            params=self._read_params(blocking),
            blocking=blocking,
        )
        entries = self._parse(CATALOG_SERVICE_ENTRIES, body, operation)
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
        response, body = await self._send(
            "GET",
            "/v1/catalog/services",
            operation,
            params=self._read_params(blocking),
            blocking=blocking,
        )
        services = self._parse(CATALOG_SERVICES, body, operation)
        return ModelServiceCatalog(
            services={
                name: tuple(sorted(set(tags or ()))) for name, tags in sorted(services.items())
            },
            index=_index(response),
        )

    @staticmethod
    def _instances(
        service_name: str, instances: list[ModelServiceInstance], response: httpx.Response
    ) -> ModelServiceInstances:
        instances.sort(key=lambda instance: (instance.service_id, instance.node))
        return ModelServiceInstances(
            service_name=service_name, instances=tuple(instances), index=_index(response)
        )

    # ---- key/value -----------------------------------------------------------------------

    async def kv_get(
        self, key: str, *, blocking: ModelBlockingQuery | None = None
    ) -> ModelKvReadResult:
        """``GET /v1/kv/:key``; a missing key is ``entry=None``."""
        operation = "kv_get"
        require_kv_key(key, operation, _TRANSPORT)
        response, body = await self._send(
            "GET",
            f"/v1/kv/{_key_path(key)}",
            operation,
            params=self._read_params(blocking),
            blocking=blocking,
            not_found_ok=True,
        )
        entry = None
        if response.status_code == 200:
            pairs = self._parse(KV_PAIRS, body, operation)
            entry = self._kv_entry(pairs[0], operation) if pairs else None
        return ModelKvReadResult(key=key, entry=entry, index=_index(response))

    async def kv_list(self, prefix: str) -> tuple[ModelKvEntry, ...]:
        """``GET /v1/kv/:prefix?recurse=true``, ordered by key."""
        operation = "kv_list"
        require_kv_prefix(prefix, operation, _TRANSPORT)
        params = self._read_params(None)
        params["recurse"] = "true"
        response, body = await self._send(
            "GET", f"/v1/kv/{_key_path(prefix)}", operation, params=params, not_found_ok=True
        )
        if response.status_code != 200:
            return ()
        pairs = self._parse(KV_PAIRS, body, operation)
        return tuple(
            sorted((self._kv_entry(pair, operation) for pair in pairs), key=lambda e: e.key)
        )

    async def kv_put(
        self, key: str, value: bytes, *, cas: int | None = None, flags: int = 0
    ) -> bool:
        """``PUT /v1/kv/:key[?cas=&flags=]``; False when the check-and-set lost."""
        operation = "kv_put"
        require_kv_key(key, operation, _TRANSPORT)
        require_kv_write(value, cas, flags, operation, _TRANSPORT)
        params = self._read_params(None)
        if cas is not None:
            params["cas"] = str(cas)
        if flags:
            params["flags"] = str(flags)
        _, body = await self._send(
            "PUT",
            f"/v1/kv/{_key_path(key)}",
            operation,
            params=params,
            content=bytes(value),
            content_type="application/octet-stream",
        )
        return self._parse(_JSON_BOOL, body, operation)

    async def kv_delete(self, key: str, *, cas: int | None = None) -> bool:
        """``DELETE /v1/kv/:key[?cas=]``; False when the check-and-set lost."""
        operation = "kv_delete"
        require_kv_key(key, operation, _TRANSPORT)
        require_kv_write(b"", cas, 0, operation, _TRANSPORT)
        params = self._read_params(None)
        if cas is not None:
            params["cas"] = str(cas)
        _, body = await self._send("DELETE", f"/v1/kv/{_key_path(key)}", operation, params=params)
        return self._parse(_JSON_BOOL, body, operation)

    def _kv_entry(self, pair: ConsulKvPair, operation: str) -> ModelKvEntry:
        try:
            return kv_entry(pair)
        except (ValidationError, ValueError) as e:
            raise _unexpected(operation, self._context(operation)) from e

    # ---- transport -----------------------------------------------------------------------

    def _read_params(self, blocking: ModelBlockingQuery | None) -> dict[str, str]:
        params: dict[str, str] = {}
        if self._settings.datacenter is not None:
            params["dc"] = self._settings.datacenter
        if blocking is not None and blocking.index > 0:
            params["index"] = str(blocking.index)
            params["wait"] = go_duration(blocking.wait_seconds)
        return params

    def _context(self, operation: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=_TRANSPORT,
            operation=operation,
            target_name=self._settings.target_name,
        )

    async def _send(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        content_type: str = "application/json",
        blocking: ModelBlockingQuery | None = None,
        not_found_ok: bool = False,
        old_not_found: str | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One call; the response (200, or a 404 when ``not_found_ok``) and its bounded body.

        ``old_not_found`` is the message with which agents before 1.11 said "no such thing"
        in a 500; such an answer is treated as the 404 it means.
        """
        client = self._client
        if client is None:
            raise RuntimeHostError(
                "the Consul handler is not started",
                context=self._context(operation),
                retriable=False,
            )
        timeout: httpx.Timeout | None = None
        if blocking is not None and blocking.index > 0:
            # Consul adds up to wait/16 of jitter; the read must outlive the whole wait.
            settings = self._settings
            timeout = httpx.Timeout(
                settings.timeout_seconds + blocking.wait_seconds * 17 / 16,
                connect=settings.connect_timeout_seconds,
            )
        headers = {"Content-Type": content_type} if content is not None else None
        context = self._context(operation)
        try:
            request = client.build_request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            response = await client.send(request, stream=True)
        except httpx.HTTPError as e:
            error = translate_transport_error(e, context)
            _REQUESTS.labels(operation, type(error).__name__).inc()
            raise error from e
        try:
            body = await read_bounded(response, self._settings.max_response_bytes, context)
        except RuntimeHostError as e:
            _REQUESTS.labels(operation, type(e).__name__).inc()
            raise
        status = response.status_code
        if status == 200 or (not_found_ok and _is_not_found(status, body, old_not_found)):
            _REQUESTS.labels(operation, "ok").inc()
            return response, body
        error = self._status_error(response, body, context)
        _REQUESTS.labels(operation, type(error).__name__).inc()
        raise error

    @staticmethod
    def _status_error(
        response: httpx.Response, body: bytes, context: ModelInfraErrorContext
    ) -> RuntimeHostError:
        detail = body[:300].decode("utf-8", "replace").strip()
        if response.status_code == 500 and _NOT_TTL in detail:
            # The check exists but is not a TTL check: retrying cannot help.
            return RuntimeHostError(
                "the check is not a TTL check",
                context=context,
                retriable=False,
                status_code=500,
            )
        return error_for_status(response.status_code, response.headers, context, detail=detail)

    def _parse(self, adapter: TypeAdapter[_T], body: bytes, operation: str) -> _T:
        try:
            return adapter.validate_json(body)
        except ValidationError as e:
            raise _unexpected(operation, self._context(operation)) from e


def _is_not_found(status: int, body: bytes, old_message: str | None) -> bool:
    """A 404, or a 500 carrying ``old_message`` (how older agents said "unknown")."""
    if status == 404:
        return True
    return (
        status == 500
        and old_message is not None
        and old_message in body[:300].decode("utf-8", "replace")
    )


def _index(response: httpx.Response) -> int:
    """The ``X-Consul-Index`` of a read (0 when absent: a later blocking read will not block)."""
    value = response.headers.get(_INDEX_HEADER, "")
    return int(value) if value.isdigit() else 0


def _segment(value: str) -> str:
    """One URL path segment (ids and names are already restricted; this is belt and braces)."""
    return quote(value, safe="")


def _key_path(key: str) -> str:
    """A KV key as a URL path: its ``/`` separators kept, everything else escaped."""
    return quote(key, safe="/")


def _unexpected(operation: str, context: ModelInfraErrorContext) -> RuntimeHostError:
    return RuntimeHostError(
        f"Consul's reply to {operation} is not the documented JSON",
        context=context,
        retriable=False,
    )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
