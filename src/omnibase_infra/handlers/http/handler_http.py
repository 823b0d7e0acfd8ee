"""Outbound HTTP and signed webhook delivery over ``httpx.AsyncClient``.

Errors are translated as in ``httpx_support``: timeouts and connection failures are retriable
(``InfraTimeoutError``, ``InfraConnectionError``), 429 and 503 are ``InfraUnavailableError`` with
the server's ``Retry-After`` in ``retry_after_seconds``, other 5xx are retriable
``InfraUnavailableError``, 401/403 are ``InfraAuthenticationError``, and any other 4xx is a
non-retriable ``RuntimeHostError`` carrying ``status_code``. Errors name the method and the URL
without user info or query string; request headers (``Authorization``, API keys) and bodies are
never put in an error or a log line. Redirects are followed only with ``follow_redirects``, and
a hop to another origin carries no credential header (``redirects``). A URL that cannot be
sent (a port outside 1-65535, a broken host) is a ``ProtocolConfigurationError``, never retried.

Webhooks are signed as the Standard Webhooks specification (standardwebhooks.com) says, with
its reference library, so any receiver with a Standard Webhooks verifier can check them:

``webhook-id``
    the message id: stable across retries of one message, so receivers can deduplicate
    (pass the envelope id; a uuid4 is generated when none is given);
``webhook-timestamp``
    Unix seconds when the delivery was signed (receivers reject stale ones, 5 min by default);
``webhook-signature``
    ``v1,`` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")), where key
    is the base64-decoded part of the ``whsec_...`` secret and body the exact bytes sent
    (compact UTF-8 JSON).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
from pydantic import JsonValue, SecretStr
from standardwebhooks import Webhook

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.handlers.http.model_http_response import ModelHttpResponse
from omnibase_infra.handlers.http.model_webhook_delivery import ModelWebhookDelivery
from omnibase_infra.handlers.http.redirects import send_following_redirects
from omnibase_infra.handlers.httpx_support import (
    error_for_status,
    new_async_client,
    read_bounded,
    safe_url,
)
from omnibase_infra.http_url import http_url_problem
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.sanitize import register_secret

__all__ = [
    "WEBHOOK_ID_HEADER",
    "WEBHOOK_SIGNATURE_HEADER",
    "WEBHOOK_TIMESTAMP_HEADER",
    "HandlerHttp",
    "new_webhook_secret",
]

WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"


def new_webhook_secret() -> SecretStr:
    """A fresh random signing secret in the Standard Webhooks format (``whsec_`` + base64)."""
    value = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    register_secret(value)
    return SecretStr(value)


class HandlerHttp:
    """Outbound HTTP calls and webhook deliveries (``ProtocolInfraHandler``)."""

    def __init__(
        self,
        settings: ModelHttpClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        secrets_in_settings = [settings.bearer_token, settings.webhook_secret]
        secrets_in_settings.extend(settings.secret_headers.values())
        for secret in secrets_in_settings:
            if secret is not None:
                register_secret(secret.get_secret_value())
        self._signer = _signer(settings.webhook_secret) if settings.webhook_secret else None

    def __repr__(self) -> str:
        base = safe_url(self._settings.base_url) if self._settings.base_url else None
        return f"HandlerHttp(base_url={base!r})"

    @property
    def handler_name(self) -> str:
        """``http``."""
        return "http"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``HTTP``."""
        return EnumInfraTransportType.HTTP

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the pooled client (no request is sent)."""
        if self._client is not None:
            return
        settings = self._settings
        # Redirects are followed by send_following_redirects, which keeps credentials from other
        # origins (httpx itself drops only Authorization): the client follows none.
        self._client = new_async_client(
            base_url=settings.base_url or "",
            timeout_seconds=settings.timeout_seconds,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_keepalive_connections,
            ),
            tls_verify=settings.tls_verify,
            ca_cert_path=settings.ca_cert_path,
            headers={"user-agent": settings.user_agent, **settings.default_headers},
            transport=self._transport,
        )

    async def ping(self) -> ModelHealthCheckResult:
        """GET ``health_url`` (healthy below 500); without one, whether the client is open."""
        started = time.perf_counter()
        health_url = self._settings.health_url
        if health_url is None:
            healthy = self._client is not None
            return ModelHealthCheckResult(
                name=self.handler_name,
                healthy=healthy,
                detail=None if healthy else "client not started",
            )
        try:
            response = await self._exchange("GET", health_url, operation="ping", check=False)
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, _elapsed_ms(started))
        healthy = response.status_code < 500
        return ModelHealthCheckResult(
            name=self.handler_name,
            healthy=healthy,
            latency_ms=_elapsed_ms(started),
            detail=None if healthy else f"HTTP {response.status_code}",
        )

    async def close(self) -> None:
        """Close the client; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- operations --------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
        content: bytes | None = None,
    ) -> ModelHttpResponse:
        """Send one request; a 2xx/3xx response is returned, anything else raised (typed)."""
        return await self._exchange(
            method,
            url,
            operation="request",
            headers=headers,
            params=params,
            json_body=json_body,
            content=content,
        )

    async def deliver_webhook(
        self,
        url: str,
        payload: JsonValue,
        *,
        message_id: str | None = None,
        secret: SecretStr | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ModelWebhookDelivery:
        """POST ``payload`` as signed JSON (Standard Webhooks headers; see the module doc).

        ``secret`` overrides the settings' ``webhook_secret`` for this receiver. Pass the same
        ``message_id`` when retrying one message. A non-2xx answer raises like ``request``.
        """
        signer = self._signer
        if secret is not None:
            register_secret(secret.get_secret_value())
            signer = _signer(secret)
        if signer is None:
            raise ProtocolConfigurationError(
                "webhook delivery needs a signing secret (settings.webhook_secret or secret=)",
                field="webhook_secret",
                context=self._context("deliver_webhook", url),
            )
        msg_id = message_id or f"msg_{uuid.uuid4().hex}"
        signed_at = datetime.now(UTC).replace(microsecond=0)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        signed_headers = {
            **(headers or {}),
            "content-type": "application/json",
            WEBHOOK_ID_HEADER: msg_id,
            WEBHOOK_TIMESTAMP_HEADER: str(int(signed_at.timestamp())),
            WEBHOOK_SIGNATURE_HEADER: signer.sign(msg_id, signed_at, body),
        }
        response = await self._exchange(
            "POST",
            url,
            operation="deliver_webhook",
            headers=signed_headers,
            content=body.encode(),
            success_only=True,
        )
        return ModelWebhookDelivery(
            message_id=msg_id,
            url=response.url,
            timestamp=int(signed_at.timestamp()),
            status_code=response.status_code,
        )

    # -- internals ---------------------------------------------------------------------------

    def _context(self, operation: str, url: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=EnumInfraTransportType.HTTP,
            operation=operation,
            target_name=safe_url(self._absolute(url)),
        )

    def _absolute(self, url: str) -> str:
        base = self._settings.base_url
        if base is None or url.startswith(("http://", "https://")):
            return url
        return f"{base.rstrip('/')}/{url.lstrip('/')}"

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
        content: bytes | None = None,
        check: bool = True,
        success_only: bool = False,
    ) -> ModelHttpResponse:
        """Send, read the body (bounded), and raise the translated error for a failure status
        (``check``); ``success_only`` also refuses 3xx (a webhook must be accepted)."""
        context = self._context(operation, url)
        client = self._client
        if client is None:
            raise InfraConnectionError("handler is not started", context=context)
        all_headers = dict(headers or {})
        for name, value in self._settings.secret_headers.items():
            all_headers.setdefault(name, value.get_secret_value())
        if self._settings.bearer_token is not None:
            all_headers.setdefault(
                "authorization", f"Bearer {self._settings.bearer_token.get_secret_value()}"
            )
        request = self._build(client, method, url, context, all_headers, params, json_body, content)
        response = await send_following_redirects(
            client,
            request,
            follow=self._settings.follow_redirects,
            secret_names=self._settings.secret_headers,
            context=context,
        )
        body = await read_bounded(response, self._settings.max_response_bytes, context)
        status = response.status_code
        failed = status >= 400 or (success_only and status >= 300)
        if check and failed:
            reason = response.reason_phrase or ""
            raise error_for_status(status, response.headers, context, detail=reason)
        return ModelHttpResponse(
            method=method.upper(),
            url=safe_url(response.url),
            status_code=status,
            headers=dict(response.headers),
            body=body,
        )

    @staticmethod
    def _build(
        client: httpx.AsyncClient,
        method: str,
        url: str,
        context: ModelInfraErrorContext,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        json_body: JsonValue,
        content: bytes | None,
    ) -> httpx.Request:
        """The request, or a ``ProtocolConfigurationError`` for a URL that cannot be sent.

        httpx accepts ``http://host:-1/`` and fails later inside the connection pool with a
        bare ``ValueError`` (in an ``ExceptionGroup``); other hostile URLs raise ``InvalidURL``
        or ``IDNAError``. None of them is a dependency failure, and none is retriable.
        """
        try:
            request = client.build_request(
                method, url, headers=headers, params=params, json=json_body, content=content
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as e:
            raise ProtocolConfigurationError(
                f"cannot send the request: the URL is not valid ({type(e).__name__})",
                context=context,
            ) from e
        # The text as given (httpx quotes a space in a host) and the URL joined to base_url.
        problem = http_url_problem(str(request.url))
        if problem is None and "://" in url:
            problem = http_url_problem(url)
        if problem is not None:
            raise ProtocolConfigurationError(
                f"cannot send the request: the URL {problem}", context=context
            )
        return request


def _signer(secret: SecretStr) -> Webhook:
    """A Standard Webhooks signer; a malformed secret is a configuration error (not echoed)."""
    try:
        return Webhook(secret.get_secret_value())
    except Exception as e:  # the library raises bare Exception subclasses and binascii errors
        raise ProtocolConfigurationError(
            "webhook secret is not a valid Standard Webhooks secret (whsec_ + base64)",
            field="webhook_secret",
        ) from e


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
