"""The ingress's HTTP API: ``POST /v1/events/{topic}`` (and ``.../batch``) into the bus,
``GET /v1/events/{topic}/stream`` out of it (server-sent events), OpenAPI and ``/docs``.

What a POST goes through is ``core.IngressCore``; ``fast_path`` answers it on raw ASGI before
the app's own machinery (middleware stack, routing) is entered; the app's routes document the
two paths and answer alike when reached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.ingress.auth import IngressAuthenticator
from omnibase_infra.ingress.core import IngressCore
from omnibase_infra.ingress.docs_page import render_docs_page
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.fast_path import IngressFastPath, is_event_post, refusal_body
from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
from omnibase_infra.ingress.model_ingress_batch_accepted import ModelIngressBatchAccepted
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.ingress.openapi_parts import (
    BATCH_REQUEST_BODY,
    BATCH_RESPONSES,
    EVENT_PARAMETERS,
    EVENT_REQUEST_BODY,
    EVENT_RESPONSES,
    STREAM_RESPONSES,
)
from omnibase_infra.ingress.stream import TopicStreams

__all__ = ["create_ingress_app"]

# IngressCore.accept and accept_batch: (topic, headers, payload_type, client, body) -> 202 body
_Accept = Callable[
    [str, Mapping[str, str], str | None, str | None, AsyncIterator[bytes]], Awaitable[bytes]
]


class _IngressApp(FastAPI):
    """FastAPI with the event POSTs answered first, on raw ASGI (``fast_path``)."""

    fast_path: IngressFastPath | None = None
    streams: TopicStreams | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and is_event_post(scope):
            await self.fast_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_ingress_app(
    bus: EventBusBase,
    settings: ModelIngressSettings,
    authenticator: IngressAuthenticator | None = None,
    routed: Mapping[str, frozenset[str]] | None = None,
    known_topics: frozenset[str] | None = None,
) -> _IngressApp:
    """Build the ingress app publishing to ``bus`` (started by its owner); its owner closes
    ``app.streams`` before stopping the server, so no open stream holds the stop. ``routed``
    (topic -> payload types its nodes take): other types on those topics are refused (422).
    ``known_topics`` (what the runtime's nodes subscribe and publish to): a stream of another
    topic that holds nothing says so in its first frame."""
    app = _IngressApp(
        title="ONEX event ingress",
        summary="Send events into the ONEX bus",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    core = IngressCore(bus, settings, authenticator, routed)
    app.fast_path = IngressFastPath(core)
    streams = app.streams = TopicStreams(
        bus,
        max_streams=settings.max_streams,
        max_queued=settings.stream_queue_events,
        known_topics=known_topics,
    )

    async def answer(request: Request, accept: _Accept) -> Response:
        try:
            accepted = await accept(
                request.path_params["topic"],
                request.headers,
                request.query_params.get("payload_type"),
                request.client.host if request.client else None,
                request.stream(),
            )
        except IngressRequestError as exc:
            return JSONResponse(refusal_body(exc), status_code=exc.status, headers=exc.headers)
        return Response(accepted, status_code=202, media_type="application/json")

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
        return await answer(request, core.accept)

    @app.post(
        "/v1/events/{topic}/batch",
        status_code=202,
        response_model=ModelIngressBatchAccepted,
        responses=BATCH_RESPONSES,
        openapi_extra={"parameters": EVENT_PARAMETERS, "requestBody": BATCH_REQUEST_BODY},
        summary="Publish many events to a topic in one request, all or none checked",
    )
    async def publish_batch(request: Request) -> Response:
        """Check every envelope (or bare payload) of a JSON array or NDJSON body, then publish
        them all in order; one bad item refuses the batch naming each item at fault."""
        return await answer(request, core.accept_batch)

    @app.get(
        "/v1/events/{topic}/stream",
        response_class=StreamingResponse,
        responses=STREAM_RESPONSES,
        summary="Watch a topic: its events as server-sent events, as they arrive",
    )
    async def stream(request: Request, topic: str, from_beginning: bool = False) -> Response:
        """Each event of the topic from now on (``from_beginning``: from the earliest the bus
        holds) as a ``data:`` frame; a client too slow to keep up is sent ``event: dropped``."""
        try:
            await core.admit_stream(
                topic, request.headers, request.client.host if request.client else None
            )
            frames = await streams.open(topic, from_beginning=from_beginning)
        except IngressRequestError as exc:
            return JSONResponse(refusal_body(exc), status_code=exc.status, headers=exc.headers)
        return StreamingResponse(
            frames,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The API described in one self-contained page (no scripts, nothing fetched)."""
        return HTMLResponse(render_docs_page(app.openapi()))

    return app
