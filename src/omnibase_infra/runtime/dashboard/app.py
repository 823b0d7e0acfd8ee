"""The dashboard's HTTP API (read-only: GET only): the page, its two static files, the JSON
snapshot and the Server-Sent Events stream.

``/events`` sends one ``snapshot`` event at once and then one per interval, from the shared
feed (``DashboardFeed``): however many pages watch, the fleet is counted once per interval.
At most ``max_viewers`` streams are open (more are answered 503); every stream ends when the
dashboard stops, so the server's graceful stop never waits on a page left open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from omnibase_infra.runtime.dashboard.feed import DashboardFeed
from omnibase_infra.runtime.dashboard.model_dashboard_settings import ModelDashboardSettings
from omnibase_infra.runtime.dashboard.page import (
    CONTENT_SECURITY_POLICY,
    SCRIPT,
    STYLE,
    render_page,
)
from omnibase_infra.runtime.dashboard.view import dashboard_view
from omnibase_infra.runtime.documents.model_contract_graph import ModelContractGraph

__all__ = ["create_dashboard_app"]

_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_dashboard_app(
    feed: DashboardFeed,
    graphs: Sequence[ModelContractGraph],
    settings: ModelDashboardSettings,
    stopping: asyncio.Event,
    title: str = "ONEX runtime",
) -> FastAPI:
    """The app around ``feed``; ``stopping`` set ends every open stream."""
    app = FastAPI(title="ONEX dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    fsm_states: Mapping[str, Sequence[str]] = {
        g.node_name: [n.id for n in g.nodes if n.kind != "start"] for g in graphs if g.kind == "fsm"
    }
    viewers = 0

    @app.get("/")
    async def page() -> HTMLResponse:
        """The page, complete with the figures of now (no wait for the stream)."""
        snapshot = await feed.snapshot()
        html = render_page(title, snapshot, dashboard_view(snapshot, fsm_states), graphs)
        return HTMLResponse(html, headers=_SECURITY_HEADERS)

    @app.get("/dashboard.css")
    async def style() -> Response:
        """The page's stylesheet."""
        return Response(STYLE, media_type="text/css", headers=_SECURITY_HEADERS)

    @app.get("/dashboard.js")
    async def script() -> Response:
        """The page's script: follows ``/events``."""
        return Response(SCRIPT, media_type="text/javascript", headers=_SECURITY_HEADERS)

    @app.get("/api/snapshot")
    async def snapshot() -> JSONResponse:
        """The figures of now as JSON (what the page shows, before rendering)."""
        return JSONResponse((await feed.snapshot()).model_dump(mode="json"))

    async def stream() -> AsyncIterator[str]:
        nonlocal viewers
        viewers += 1  # counted here, not before: a stream never started is never counted
        try:
            yield f"retry: {int(settings.interval_seconds * 2000)}\n\n"
            while not stopping.is_set():
                view = dashboard_view(await feed.snapshot(), fsm_states)
                yield f"event: snapshot\ndata: {view.model_dump_json()}\n\n"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), settings.interval_seconds)
        finally:
            viewers -= 1

    @app.get("/events")
    async def events() -> Response:
        """Server-Sent Events: a ``snapshot`` event now and every interval."""
        if viewers >= settings.max_viewers:
            return JSONResponse(
                {"detail": f"{settings.max_viewers} live pages already open (max_viewers)"},
                status_code=503,
            )
        headers = {**_SECURITY_HEADERS, "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return app
