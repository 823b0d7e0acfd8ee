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

from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from omnibase_infra.observability import logging as onex_logging
from omnibase_infra.observability.model_tracing_settings import ModelTracingSettings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "ModelTracingSettings",
    "TracedHandler",
    "configure_tracing",
    "consumer_span",
    "inject_trace_context",
    "producer_span",
    "shutdown_tracing",
    "tracing_enabled",
]

_TRACER_NAME = "omnibase_infra"


class _Tracing:
    """The tracer and the drivers' instrumentations while tracing is configured."""

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
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


def _extract(headers: Mapping[str, str]) -> Context:
    from opentelemetry.propagate import extract

    return extract(headers)


@contextmanager
def consumer_span(
    topic: str, *, consumer_group: str, node: str, headers: Mapping[str, str]
) -> Iterator[Span | None]:
    """A CONSUMER span for one delivery, continuing the trace the headers carry."""
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(
        f"process {topic}",
        context=_extract(headers),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": consumer_group,
            "onex.node": node,
        },
    ) as span:
        yield span


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


class _Handles[C, R](Protocol):
    """What a node handler offers (``dispatch.ProtocolMessageHandler``)."""

    def handle(self, context: C, /) -> Awaitable[R]: ...


class TracedHandler[C, R]:
    """A node handler inside a span named after its node (wraps any handler)."""

    __slots__ = ("_handler", "_name", "_node")

    def __init__(self, node: str, handler: _Handles[C, R]) -> None:
        self._node = node
        self._name = f"{node} handle"
        self._handler = handler

    async def handle(self, context: C) -> R:
        """Run the wrapped handler in a span."""
        tracer = _state.tracer
        if tracer is None:
            return await self._handler.handle(context)
        with tracer.start_as_current_span(self._name, attributes={"onex.node": self._node}):
            return await self._handler.handle(context)
