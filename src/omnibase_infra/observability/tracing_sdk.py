"""The OpenTelemetry SDK side of tracing, imported only when tracing is configured.

The process gets one tracer provider, set as the global one once (OpenTelemetry refuses to
replace it). What a configuration changes, the exporter and the sampling ratio, sits behind a
switchable span processor and a switchable sampler, so configuring again (a test, a reload)
takes effect for every tracer already handed out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from omnibase_infra.observability.model_tracing_settings import ModelTracingSettings

__all__ = ["install", "uninstall"]


class _SwitchableProcessor(SpanProcessor):
    """Forwards to the processor of the current configuration (none: spans are dropped)."""

    def __init__(self) -> None:
        self.current: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.current is not None:
            self.current.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.current is not None:
            self.current.on_end(span)

    def shutdown(self) -> None:
        if self.current is not None:
            self.current.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.current.force_flush(timeout_millis) if self.current is not None else True


class _SwitchableSampler(Sampler):
    """Samples as the current configuration says (parent's decision first, then the ratio)."""

    def __init__(self) -> None:
        self.current: Sampler = ParentBased(TraceIdRatioBased(1.0))

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        return self.current.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"onex({self.current.get_description()})"


class _Installed:
    def __init__(self, service_name: str) -> None:
        self.processor = _SwitchableProcessor()
        self.sampler = _SwitchableSampler()
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), sampler=self.sampler
        )
        self.provider.add_span_processor(self.processor)
        trace.set_tracer_provider(self.provider)


_installed: list[_Installed] = []


def install(
    settings: ModelTracingSettings, *, service_name: str, exporter: SpanExporter | None
) -> tuple[trace.Tracer, list[Callable[[], None]]]:
    """Make ``settings`` (or ``exporter``) current; the tracer, and how to undo the drivers'
    instrumentation."""
    if not _installed:
        _installed.append(_Installed(service_name))
    installed = _installed[0]
    installed.sampler.current = ParentBased(TraceIdRatioBased(settings.sample_ratio))
    installed.processor.current = (
        SimpleSpanProcessor(exporter)
        if exporter is not None
        else BatchSpanProcessor(_exporter(settings))
    )
    return installed.provider.get_tracer("omnibase_infra"), _instrument(settings)


def uninstall() -> None:
    """Flush and drop the current processor (spans started later are not exported)."""
    if _installed:
        processor = _installed[0].processor
        if processor.current is not None:
            processor.current.shutdown()  # flushes what a batch still holds
        processor.current = None


def _exporter(settings: ModelTracingSettings) -> SpanExporter:
    if settings.exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.otlp_endpoint)


def _instrument(settings: ModelTracingSettings) -> list[Callable[[], None]]:
    """Instrument the drivers ``settings`` name (global provider); the callables undo it."""
    undo: list[Callable[[], None]] = []
    if "asyncpg" in settings.instrument:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
        asyncpg.instrument()
        undo.append(asyncpg.uninstrument)
    if "httpx" in settings.instrument:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        httpx = HTTPXClientInstrumentor()
        httpx.instrument()
        undo.append(httpx.uninstrument)
    if "redis" in settings.instrument:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        redis = RedisInstrumentor()
        redis.instrument()
        undo.append(redis.uninstrument)
    return undo
