"""The HTTP side of the Consul handler: one ``httpx.AsyncClient``, requests, replies, errors.

Errors are translated as in ``httpx_support`` (timeouts -> ``InfraTimeoutError``, connection
failures and 5xx -> ``InfraConnectionError``/``InfraUnavailableError``, 401/403 ->
``InfraAuthenticationError``, other 4xx -> non-retriable ``RuntimeHostError``), plus Consul's
own answers: a 404 (or an older agent's 500 "Unknown ...") is "no such thing" where the caller
allows it, a status update of a check that is not a TTL check is a non-retriable error, and a
reply that is not the documented JSON is a non-retriable error. The ACL token is sent only in
the ``X-Consul-Token`` header.
"""

from __future__ import annotations

import time
from typing import TypeVar
from urllib.parse import quote

import httpx
from prometheus_client import Counter
from pydantic import TypeAdapter, ValidationError

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.consul.wire import go_duration
from omnibase_infra.handlers.discovery import ModelBlockingQuery
from omnibase_infra.handlers.httpx_support import (
    error_for_status,
    new_async_client,
    read_bounded,
    translate_transport_error,
)
from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["ConsulClient", "elapsed_ms", "index_of", "key_path", "segment", "unexpected_reply"]

_T = TypeVar("_T")

TRANSPORT = EnumInfraTransportType.CONSUL
_TOKEN_HEADER = "X-Consul-Token"  # noqa: S105 - a header name, not a credential
_INDEX_HEADER = "X-Consul-Index"
_NOT_TTL = "does not have associated TTL"

_REQUESTS = Counter(
    "onex_consul_requests_total",
    "Consul HTTP API calls by operation and outcome (ok or the error class).",
    ["operation", "outcome"],
    registry=REGISTRY,
)


class ConsulClient:
    """Sends the Consul handler's requests and turns replies into data or typed errors."""

    def __init__(
        self, settings: ModelConsulSettings, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        """Create the HTTP client (idempotent)."""
        if self._client is not None:
            return
        settings = self._settings
        headers = {"Accept": "application/json", "User-Agent": "omnibase-infra"}
        if settings.token is not None:
            headers[_TOKEN_HEADER] = settings.token.get_secret_value()
        self._client = new_async_client(
            base_url=settings.base_url,
            headers=headers,
            timeout_seconds=settings.timeout_seconds,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            limits=httpx.Limits(max_connections=settings.max_connections),
            transport=self._transport,
        )

    async def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def read_params(self, blocking: ModelBlockingQuery | None) -> dict[str, str]:
        params: dict[str, str] = {}
        if self._settings.datacenter is not None:
            params["dc"] = self._settings.datacenter
        if blocking is not None and blocking.index > 0:
            params["index"] = str(blocking.index)
            params["wait"] = go_duration(blocking.wait_seconds)
        return params

    def context(self, operation: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=TRANSPORT,
            operation=operation,
            target_name=self._settings.target_name,
        )

    async def send(
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
                context=self.context(operation),
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
        context = self.context(operation)
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

    def parse(self, adapter: TypeAdapter[_T], body: bytes, operation: str) -> _T:
        try:
            return adapter.validate_json(body)
        except ValidationError as e:
            raise unexpected_reply(operation, self.context(operation)) from e


def _is_not_found(status: int, body: bytes, old_message: str | None) -> bool:
    """A 404, or a 500 carrying ``old_message`` (how older agents said "unknown")."""
    if status == 404:
        return True
    return (
        status == 500
        and old_message is not None
        and old_message in body[:300].decode("utf-8", "replace")
    )


def index_of(response: httpx.Response) -> int:
    """The ``X-Consul-Index`` of a read (0 when absent: a later blocking read will not block)."""
    value = response.headers.get(_INDEX_HEADER, "")
    return int(value) if value.isdigit() else 0


def segment(value: str) -> str:
    """One URL path segment (ids and names are already restricted; this is belt and braces)."""
    return quote(value, safe="")


def key_path(key: str) -> str:
    """A KV key as a URL path: its ``/`` separators kept, everything else escaped."""
    return quote(key, safe="/")


def unexpected_reply(operation: str, context: ModelInfraErrorContext) -> RuntimeHostError:
    return RuntimeHostError(
        f"Consul's reply to {operation} is not the documented JSON",
        context=context,
        retriable=False,
    )


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
