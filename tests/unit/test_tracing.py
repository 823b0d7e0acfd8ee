"""Tracing's switches: nothing when off; trace context in headers and trace ids in log lines
when on; the sampling ratio decides what is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from omnibase_infra.event_bus.codec import envelope_headers, new_envelope
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.tracing import (
    ModelTracingSettings,
    configure_tracing,
    shutdown_tracing,
    tracing_enabled,
)


class _Ping(BaseModel):
    n: int


def _headers() -> dict[str, str]:
    return envelope_headers(new_envelope(_Ping(n=1), correlation_id=uuid4(), producer="t"))


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    configure_tracing(
        ModelTracingSettings(enabled=True, instrument=[]), service_name="t", exporter=spans
    )
    yield spans
    shutdown_tracing()


def test_disabled_tracing_configures_nothing_and_adds_no_header() -> None:
    """With tracing off (the default) no tracer exists and headers carry no trace context."""
    configure_tracing(ModelTracingSettings(), service_name="t")
    assert not tracing_enabled()
    assert "traceparent" not in _headers()


def test_headers_carry_the_current_span_as_w3c_traceparent(
    exporter: InMemorySpanExporter,
) -> None:
    """Inside a span, a published envelope's headers name that span (W3C traceparent)."""
    with trace.get_tracer("t").start_as_current_span("work") as span:
        headers = _headers()
    context = span.get_span_context()
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    assert int(trace_id, 16) == context.trace_id
    assert int(span_id, 16) == context.span_id


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids(
    exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line logged inside a span has trace_id and span_id; one outside has neither."""
    log = get_logger("tests.tracing")
    with trace.get_tracer("t").start_as_current_span("work") as span:
        log.warning("inside")
    log.warning("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().err.splitlines()[-2:])
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside


def test_sample_ratio_zero_records_nothing_but_still_propagates() -> None:
    """Unsampled traces record no span, yet the context (not sampled) still travels."""
    spans = InMemorySpanExporter()
    configure_tracing(
        ModelTracingSettings(enabled=True, sample_ratio=0.0, instrument=[]),
        service_name="t",
        exporter=spans,
    )
    try:
        with trace.get_tracer("t").start_as_current_span("work"):
            headers = _headers()
        assert spans.get_finished_spans() == ()
        flags = headers["traceparent"].rsplit("-", 1)[1]
        assert not int(flags, 16) & 1  # not sampled, still propagated
    finally:
        shutdown_tracing()
