"""OpenTelemetry tracing, off unless configured; W3C trace context carried in message headers.

Nothing here imports OpenTelemetry until ``configure_tracing`` is called: a runtime that does
not trace pays one boolean test where a span would start. Once configured, every log line
carries ``trace_id`` and ``span_id``, publishing writes ``traceparent`` (and ``tracestate``)
into the message headers, and a consumer continues the trace those headers name.

Driver calls (PostgreSQL, HTTP, Valkey) are traced by the libraries' own instrumentations
(``opentelemetry-instrumentation-asyncpg``, ``-httpx``, ``-redis``): they patch the drivers
once, which is what they are made for, and follow the semantic conventions without our help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from omnibase_infra.observability import logging as onex_logging
from omnibase_infra.observability.model_tracing_settings import ModelTracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "ModelTracingSettings",
    "configure_tracing",
    "consumer_span",
    "inject_trace_context",
    "producer_span",
    "shutdown_tracing",
    "span_wanted",
    "tracing_enabled",
]

_TRACER_NAME = "omnibase_infra"


class _Tracing:
    """The tracer and the drivers' instrumentations while tracing is configured."""

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
        self.sample_ratio = 1.0
        self.instrumented: list[Callable[[], None]] = []


_state = _Tracing()


def tracing_enabled() -> bool:
    """Whether a tracer is configured (the hot path's only cost when it is not)."""
    return _state.tracer is not None


def configure_tracing(
    settings: ModelTracingSettings,
    *,
    service_name: str,
    exporter: SpanExporter | None = None,
) -> None:
    """Trace as ``settings`` describe (``exporter`` replaces the configured one: tests).

    Does nothing when tracing is disabled and no exporter is given. Configuring again replaces
    the exporter and the sampling ratio of the one provider the process has.
    """
    if not settings.enabled and exporter is None:
        return
    from omnibase_infra.observability import tracing_sdk

    shutdown_tracing()
    _state.sample_ratio = settings.sample_ratio
    _state.tracer, _state.instrumented = tracing_sdk.install(
        settings, service_name=service_name, exporter=exporter
    )
    onex_logging.set_trace_ids_hook(_current_trace_ids)


def shutdown_tracing() -> None:
    """Flush the spans not exported yet; stop tracing and the drivers' instrumentation."""
    if _state.tracer is None:
        return
    from omnibase_infra.observability import tracing_sdk

    for undo in _state.instrumented:
        undo()
    _state.instrumented = []
    tracing_sdk.uninstall()
    _state.tracer = None
    onex_logging.set_trace_ids_hook(None)


def _current_trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids (hex), if a recording span is current."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def inject_trace_context(headers: MutableMapping[str, str]) -> None:
    """Write the current trace context into message headers (``traceparent``, ``tracestate``)."""
    if _state.tracer is None:
        return
    from opentelemetry.propagate import inject

    inject(headers)


def span_wanted(headers: Mapping[str, str]) -> bool:
    """Whether a delivery needs ``consumer_span``: tracing is on, and the message carries a
    trace or new traces are sampled at all (the check that keeps unsampled tracing cheap)."""
    return _state.tracer is not None and ("traceparent" in headers or _state.sample_ratio > 0.0)


@contextmanager
def consumer_span(
    topic: str, *, consumer_group: str, node: str, headers: Mapping[str, str]
) -> Iterator[Span | None]:
    """A CONSUMER span for one delivery, continuing the trace the headers carry.

    A delivery that will not be sampled (its trace says so, or there is none and the ratio
    is 0) gets no span: only its trace context is made current, so what it publishes still
    carries the trace on (the cheap path when tracing is on but not sampling).
    """
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    from opentelemetry import context as otel_context
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    traceparent = headers.get("traceparent")
    if traceparent is None and _state.sample_ratio == 0.0:
        yield None
        return
    if traceparent is not None and not _sampled_flag(traceparent):
        token = otel_context.attach(extract(headers))
        try:
            yield None
        finally:
            otel_context.detach(token)
        return
    with tracer.start_as_current_span(
        f"process {topic}",
        context=extract(headers) if traceparent is not None else None,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": consumer_group,
            "onex.node": node,
        },
    ) as span:
        yield span


def _sampled_flag(traceparent: str) -> bool:
    """Whether a W3C ``traceparent`` says sampled (its last field's lowest bit)."""
    try:
        return bool(int(traceparent[-2:], 16) & 1)
    except ValueError:
        return True  # malformed: let the propagator decide (it ignores it)


@contextmanager
def producer_span(topic: str, *, node: str | None = None) -> Iterator[Span | None]:
    """A PRODUCER span around one publish (inject inside it, so consumers become children)."""
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    attributes = {"messaging.operation.type": "publish", "messaging.destination.name": topic}
    if node is not None:
        attributes["onex.node"] = node
    with tracer.start_as_current_span(
        f"publish {topic}", kind=SpanKind.PRODUCER, attributes=attributes
    ) as span:
        yield span
