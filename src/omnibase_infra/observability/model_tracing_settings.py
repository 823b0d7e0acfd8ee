"""The ``tracing`` section of the runtime config: OpenTelemetry, off unless enabled."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelTracingSettings", "TracedDriver"]

TracedDriver = Literal["asyncpg", "httpx", "redis"]


def _every_driver() -> list[TracedDriver]:
    return ["asyncpg", "httpx", "redis"]


class ModelTracingSettings(BaseModel):
    """OpenTelemetry tracing: spans for publish, dispatch, node handlers and driver calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="off: no tracer, no cost")
    exporter: Literal["otlp", "console"] = Field(
        default="otlp", description="otlp: OTLP over HTTP (protobuf) to otlp_endpoint"
    )
    otlp_endpoint: str = Field(
        default="http://127.0.0.1:4318/v1/traces", description="the collector's traces URL"
    )
    sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="share of new traces recorded; a traced message's sampling decision wins",
    )
    instrument: list[TracedDriver] = Field(
        default_factory=_every_driver,
        description="driver calls traced by the libraries' own OpenTelemetry instrumentations",
    )
