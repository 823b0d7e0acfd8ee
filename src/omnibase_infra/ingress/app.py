"""The ingress's HTTP API: ``POST /v1/events/{topic}`` into the bus, OpenAPI and ``/docs``.

A request is, in order: authenticated (when auth is configured: 401), rate limited per client
(the token's subject, else the remote address: 429 with ``Retry-After``), checked for its topic
(grammar and kind: 422) and the token's roles (403), size-limited (413), parsed into an
envelope (422 with field paths), published, and answered 202 with the envelope and correlation
ids. Errors never echo the token or the body.
"""

from __future__ import annotations

import json
import math
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import JsonValue

from omnibase_infra.errors import (
    InfraAuthenticationError,
    MessageTooLargeError,
    RuntimeHostError,
)
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers
from omnibase_infra.ingress.auth import IngressAuthenticator
from omnibase_infra.ingress.docs_page import render_docs_page
from omnibase_infra.ingress.envelope_input import check_topic, correlation_id_of, envelope_of
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.ingress.openapi_parts import (
    EVENT_PARAMETERS,
    EVENT_REQUEST_BODY,
    EVENT_RESPONSES,
)
from omnibase_infra.ingress.rate_limit import TokenBucketLimiter
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import sanitize_text

__all__ = ["create_ingress_app"]

_log = get_logger(__name__)


def create_ingress_app(
    bus: EventBusBase,
    settings: ModelIngressSettings,
    authenticator: IngressAuthenticator | None = None,
) -> FastAPI:
    """Build the ingress app publishing to ``bus`` (started by its owner)."""
    app = FastAPI(
        title="ONEX event ingress",
        summary="Send events into the ONEX bus",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    ingress = _Ingress(bus, settings, authenticator)

    @app.post(
        "/v1/events/{topic}",
        status_code=202,
        response_model=ModelIngressAccepted,
        responses=EVENT_RESPONSES,
        openapi_extra={"parameters": EVENT_PARAMETERS, "requestBody": EVENT_REQUEST_BODY},
        summary="Publish one event to a topic",
    )
    async def publish(request: Request) -> Response:
        """Publish core's envelope, or a bare payload with ``payload_type``, to the topic."""
        try:
            accepted = await ingress.handle(request)
        except IngressRequestError as exc:
            return _refusal(exc)
        return Response(accepted, status_code=202, media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The API described in one self-contained page (no scripts, nothing fetched)."""
        return HTMLResponse(render_docs_page(app.openapi()))

    return app


def _refusal(exc: IngressRequestError) -> JSONResponse:
    body: dict[str, JsonValue] = {"error": sanitize_text(exc.message)}
    if exc.detail:
        body["detail"] = list[JsonValue](exc.detail)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


class _Ingress:
    """The checks and the publish of one POST (see module docstring for the order)."""

    def __init__(
        self,
        bus: EventBusBase,
        settings: ModelIngressSettings,
        authenticator: IngressAuthenticator | None,
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._auth = authenticator
        self._limiter = TokenBucketLimiter(
            settings.rate_per_second, settings.rate_burst, max_clients=settings.max_clients
        )

    async def handle(self, request: Request) -> bytes:
        """The 202 body for ``request``; raises ``IngressRequestError`` for every refusal."""
        topic: str = request.path_params["topic"]
        headers = request.headers
        claims = None
        if self._auth is not None:
            try:
                claims = await self._auth.authenticate(headers.get("authorization"))
            except InfraAuthenticationError as exc:
                raise IngressRequestError(
                    401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="onex"'}
                ) from None
            except RuntimeHostError as exc:  # the provider unreachable: keys not readable
                raise IngressRequestError(
                    503, f"cannot validate the bearer JWT now: {exc.message}"
                ) from None
            client = f"sub:{claims.subject}"
        else:
            client = f"addr:{request.client.host if request.client else 'unknown'}"
        wait = self._limiter.take(client)
        if wait > 0.0:
            raise IngressRequestError(
                429,
                "rate limit exceeded for this client",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        check_topic(topic)
        if self._auth is not None and claims is not None and not self._auth.allows(claims, topic):
            raise IngressRequestError(403, f"no role of this token may publish to {topic}")
        body = await self._read_body(request)
        envelope = envelope_of(
            body,
            payload_type=request.query_params.get("payload_type"),
            correlation_id=correlation_id_of(headers.get("x-correlation-id")),
            producer=self._settings.producer,
        )
        await self._publish(topic, encode_envelope(envelope), envelope_headers(envelope))
        correlation_id: UUID | None = envelope.correlation_id
        return json.dumps(
            {
                "topic": topic,
                "envelope_id": str(envelope.envelope_id),
                "correlation_id": str(correlation_id),
            }
        ).encode()

    async def _read_body(self, request: Request) -> bytes:
        """The body, refused with 413 past ``max_body_bytes`` (declared or streamed)."""
        limit = self._settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _publish(self, topic: str, value: bytes, headers: dict[str, str]) -> None:
        try:
            await self._bus.publish(topic, None, value, headers)
        except MessageTooLargeError as exc:
            raise IngressRequestError(413, exc.message) from None
        except RuntimeHostError as exc:
            _log.warning("ingress publish failed", topic=topic, error=exc.message)
            raise IngressRequestError(
                503, f"the bus did not accept the event: {exc.message}"
            ) from None


def _too_large(limit: int) -> IngressRequestError:
    return IngressRequestError(413, f"the body is larger than ingress.max_body_bytes ({limit})")
