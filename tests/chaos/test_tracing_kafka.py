"""One trace across two processes over Kafka: a span started in this process, the message it
publishes to Tansu, and the PostgreSQL writes `onex-infra run` (another process) makes for it,
exported over OTLP/HTTP to a receiver the test runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chaos_harness import kafka_stack
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otlp_receiver import OtlpReceiver

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION
from omnibase_infra.observability.tracing import (
    ModelTracingSettings,
    configure_tracing,
    shutdown_tracing,
)

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


async def test_one_trace_from_a_kafka_publish_here_to_a_postgres_write_in_the_runtime(
    postgres_server: EmbeddedPostgres,
    chaos_workdir: Path,
    receiver: OtlpReceiver,
    chaos_report: Callable[[str], None],
) -> None:
    """The runtime continues the trace of the message's headers: its consume span and the
    PostgreSQL statements of the registration carry the trace id started in this process."""
    tracing = {"enabled": True, "otlp_endpoint": receiver.url, "instrument": ["asyncpg"]}
    async with kafka_stack(postgres_server, chaos_workdir, config={"tracing": tracing}) as stack:
        configure_tracing(
            ModelTracingSettings(enabled=True, instrument=[]),
            service_name="chaos-test",
            exporter=InMemorySpanExporter(),
        )
        try:
            fleet = await stack.fleet(1)
            with trace.get_tracer("test").start_as_current_span("announce") as root:
                fleet.start_stream(10.0)  # the task keeps the root span as its context
            figures = await stack.settle(fleet)
        finally:
            shutdown_tracing()
        trace_id = format(root.get_span_context().trace_id, "032x")
        for _ in range(300):  # the runtime's batch exporter sends every few seconds
            if any(
                s.attributes.get("db.system") == "postgresql" for s in receiver.in_trace(trace_id)
            ):
                break
            await asyncio.sleep(0.2)
    spans = receiver.in_trace(trace_id)
    assert any(s.attributes.get("db.system") == "postgresql" for s in spans), spans
    chaos_report(
        f"tracing over kafka: trace {trace_id}: {len(spans)} spans from the runtime "
        f"({', '.join(sorted({s.name for s in spans})[:6])}, ...)"
    )
    assert figures.registered == 1
    assert {s.service for s in spans} == {"omnibase-infra"}
    assert f"process {TOPIC_NODE_INTROSPECTION}" in {s.name for s in spans}
