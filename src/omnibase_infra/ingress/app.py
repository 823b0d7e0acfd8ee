"""The ingress's HTTP API: ``POST /v1/events/{topic}`` into the bus, OpenAPI and ``/docs``.

What a POST goes through is ``core.IngressCore``; ``fast_path`` answers it on raw ASGI in front
of the app (the app's own route documents it and answers alike when reached).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.ingress.auth import IngressAuthenticator
from omnibase_infra.ingress.core import IngressCore
from omnibase_infra.ingress.docs_page import render_docs_page
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.fast_path import IngressFastPath, refusal_body
from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.ingress.openapi_parts import (
    EVENT_PARAMETERS,
    EVENT_REQUEST_BODY,
    EVENT_RESPONSES,
)

__all__ = ["create_ingress_app"]


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
    core = IngressCore(bus, settings, authenticator)
    app.add_middleware(IngressFastPath, core=core)

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
            accepted = await core.accept(
                request.path_params["topic"],
                request.headers,
                request.query_params.get("payload_type"),
                request.client.host if request.client else None,
                request.stream(),
            )
        except IngressRequestError as exc:
            return JSONResponse(refusal_body(exc), status_code=exc.status, headers=exc.headers)
        return Response(accepted, status_code=202, media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The API described in one self-contained page (no scripts, nothing fetched)."""
        return HTMLResponse(render_docs_page(app.openapi()))

    return app
