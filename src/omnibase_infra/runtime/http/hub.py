"""The infrastructure hub's HTTP API: liveness, readiness, metrics, and mounted routers.

``/health`` answers while the process serves requests; ``/ready`` runs every registered ping
(bus, handlers) and answers 503 until all pass; ``/metrics`` is the Prometheus registry.
Errors are answered with their HTTP-equivalent status and a sanitised message only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.models.model_readiness_report import ModelReadinessReport
from omnibase_infra.observability.metrics import render_metrics
from omnibase_infra.sanitize import sanitize_text

__all__ = ["create_hub_app"]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def create_hub_app(
    readiness: Callable[[], Awaitable[ModelReadinessReport]],
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """Build the hub app around a readiness callback and any extra routers."""
    app = FastAPI(
        title="ONEX infrastructure hub",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process is up and its event loop answers."""
        return {"status": "live"}

    @app.get("/ready", response_model=ModelReadinessReport)
    async def ready() -> JSONResponse:
        """Readiness: every handler's ping and the bus's health check pass."""
        report = await readiness()
        return JSONResponse(
            report.model_dump(mode="json"), status_code=200 if report.ready else 503
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text exposition of the runtime's metrics."""
        return Response(render_metrics(), media_type=PROMETHEUS_CONTENT_TYPE)

    @app.exception_handler(RuntimeHostError)
    async def runtime_error(_: Request, exc: RuntimeHostError) -> JSONResponse:
        return JSONResponse(
            {
                "error_code": str(exc.error_code),
                "message": sanitize_text(exc.message),
                "correlation_id": str(exc.correlation_id),
            },
            status_code=exc.http_status,
        )

    for router in routers:
        app.include_router(router)
    return app
