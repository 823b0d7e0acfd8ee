"""What tracing costs on the dispatch path, in one run (not a test).

    .venv/bin/python benchmarks/bench_tracing.py [--messages 50000] [--repeats 5]

The throughput of ``bench_dispatch`` (in-memory bus -> engine -> no-op node) under three
settings, run interleaved in every repeat:

- **off**: tracing not configured (the default): the baseline of this benchmark;
- **unsampled**: tracing configured with ``sample_ratio: 0`` (per message: one look at the
  headers for a trace context, none found, no span);
- **sampled**: every message traced (one consumer span per message and node) into the SDK's
  in-memory exporter, which is emptied between runs.

It prints each setting's messages per second and its time per message over ``off`` (targets:
unsampled <= 1.05x, sampled <= 1.30x), with the machine's load beside them. For the sampled
setting it also times the SDK's own span (``start_as_current_span`` with the same attributes,
processor and exporter, nothing else) in every repeat: what sampling adds per message over
``off`` against that bare span says how much of the cost is ours and how much the SDK's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time

import uvloop
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from bench_dispatch import _messages, runtime_throughput
from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.observability.tracing import (
    ModelTracingSettings,
    configure_tracing,
    shutdown_tracing,
)
from omnibase_infra.runtime.heap import freeze_boot_heap

TARGETS = {"unsampled": 1.05, "sampled": 1.30}


async def _timed(setting: str, messages: list[tuple[bytes, bytes, dict[str, str]]]) -> float:
    """Seconds for ``bench_dispatch``'s runtime path under one tracing setting."""
    exporter = InMemorySpanExporter()
    if setting != "off":
        ratio = 0.0 if setting == "unsampled" else 1.0
        configure_tracing(
            ModelTracingSettings(enabled=True, sample_ratio=ratio, instrument=[]),
            service_name="bench",
            exporter=exporter,
        )
    try:
        return await runtime_throughput(messages)
    finally:
        shutdown_tracing()
        exporter.clear()


def _bare_span_seconds(count: int) -> float:
    """Seconds for ``count`` bare SDK spans, as the consumer span is made, and nothing else."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    attributes = {
        "messaging.destination.name": "onex.cmd.bench.do-nothing.v1",
        "messaging.consumer.group.name": "bench",
        "onex.node": "bench",
    }
    began = time.perf_counter()
    for _ in range(count):
        with tracer.start_as_current_span("process", kind=SpanKind.CONSUMER, attributes=attributes):
            pass
    took = time.perf_counter() - began
    provider.shutdown()
    return took


async def main(count: int, repeats: int) -> None:
    """Run the settings ``repeats`` times, interleaved, print the table and record it."""
    load_before = load_average()
    print(f"before: {load_line()}")
    messages = _messages(count)
    for setting in ("off", "unsampled", "sampled"):  # warm-up: imports, first calls
        await _timed(setting, messages[:2000])
    freeze_boot_heap()
    seconds: dict[str, list[float]] = {"off": [], "unsampled": [], "sampled": []}
    order = list(seconds)
    bare_span: list[float] = []
    for repeat in range(repeats):
        for setting in order if repeat % 2 == 0 else order[::-1]:
            gc.collect()
            seconds[setting].append(await _timed(setting, messages))
        gc.collect()
        bare_span.append(_bare_span_seconds(count))
        print(
            f"  repeat {repeat + 1}/{repeats}: "
            + ", ".join(f"{s} {count / seconds[s][-1]:,.0f}/s" for s in order),
            flush=True,
        )
    print(f"\n{count:,} envelopes x {repeats} repeats; after: {load_line()}")
    figures: list[ModelBenchFigure] = []
    off_rate = statistics.median([count / s for s in seconds["off"]])
    for setting in order:
        rates = [count / s for s in seconds[setting]]
        ratios = [s / o for s, o in zip(seconds[setting], seconds["off"], strict=True)]
        target = TARGETS.get(setting)
        verdict = ""
        if target is not None:
            met = "met" if statistics.median(ratios) <= target else "MISSED"
            verdict = f"  target <= {target:.2f}x: {met}"
            figures.append(
                ModelBenchFigure(
                    what=f"dispatch with tracing {setting} (time per message vs tracing off)",
                    measured=f"**{statistics.median(ratios):.2f}x** "
                    f"({min(ratios):.2f}-{max(ratios):.2f}x)",
                    baseline=f"tracing off {off_rate:,.0f}/s",
                    target=f"<= {target:.2f}x",
                    met=statistics.median(ratios) <= target,
                )
            )
        print(
            f"  {setting:<10} {statistics.median(rates):>10,.0f}/s "
            f"({min(rates):,.0f}-{max(rates):,.0f})  "
            f"time/message vs off {statistics.median(ratios):.2f}x "
            f"({min(ratios):.2f}-{max(ratios):.2f}){verdict}"
        )
    extra = [(s - o) / count * 1e6 for s, o in zip(seconds["sampled"], seconds["off"], strict=True)]
    span = [b / count * 1e6 for b in bare_span]
    shares = [e / b for e, b in zip(extra, span, strict=True)]
    print(
        f"  sampled adds {statistics.median(extra):.1f} µs per message over off; the SDK's bare "
        f"span costs {statistics.median(span):.1f} µs ({statistics.median(shares):.2f}x of it)"
    )
    figures.append(
        ModelBenchFigure(
            what="what sampling adds per message, against the OpenTelemetry SDK's own bare span",
            measured=f"**{statistics.median(shares):.2f}x** "
            f"({min(shares):.2f}-{max(shares):.2f}x): "
            f"{statistics.median(extra):.1f} µs added per message",
            baseline=f"bare SDK span {statistics.median(span):.1f} µs",
        )
    )
    record("bench_tracing", load_before, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(arguments.messages, arguments.repeats))
