"""One trace from a node's introspection to the PostgreSQL writes that register it, through
the runtime (in-memory bus, real PostgreSQL), with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from registration_harness import fleet_of, running_registry

from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION
from omnibase_infra.observability.tracing import (
    ModelTracingSettings,
    configure_tracing,
    shutdown_tracing,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing configured for the test (every trace sampled), then removed."""
    exporter = InMemorySpanExporter()
    configure_tracing(
        ModelTracingSettings(enabled=True, instrument=["asyncpg"]),
        service_name="tracing-test",
        exporter=exporter,
    )
    yield exporter
    shutdown_tracing()


def _in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    ]


async def test_introspection_to_postgres_write_is_one_trace(
    postgres_dsn: str, spans: InMemorySpanExporter
) -> None:
    """The node's publish, the orchestrator's consume and handling, its PostgreSQL statements
    and the events it publishes back all carry the trace the node started."""
    async with running_registry(postgres_dsn) as registry:
        fleet = fleet_of(registry.bus, 1)
        await fleet.listen()
        (client,) = fleet.nodes
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("node announces itself") as root:
            await client.start()
        await asyncio.wait_for(client.active.wait(), 60)
    trace_id = root.get_span_context().trace_id
    traced = _in_trace(spans, trace_id)
    names = {s.name for s in traced}
    consume = [s for s in traced if s.name == f"process {TOPIC_NODE_INTROSPECTION}"]
    assert consume
    assert consume[0].kind is SpanKind.CONSUMER
    assert consume[0].parent is not None
    assert consume[0].parent.span_id == root.get_span_context().span_id
    assert consume[0].attributes is not None
    assert consume[0].attributes["onex.node"] == "node_registration_orchestrator"
    statements = [s for s in traced if (s.attributes or {}).get("db.system") == "postgresql"]
    assert any(
        "insert" in str((s.attributes or {}).get("db.statement", "")).lower() for s in statements
    )
    published = [s for s in traced if s.kind is SpanKind.PRODUCER]
    assert published, names
