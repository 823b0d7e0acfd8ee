"""Dependency outages, a paused broker and a crashed runtime in the middle of a registration
stream through `onex-infra run` on Kafka: nothing accepted is lost, nothing is done twice, and
the runtime comes back by itself.

Each test streams a fleet's introspections (then heartbeats) through the running runtime,
breaks one thing a third of the way in, mends it, waits until the figures settle, prints them
(one line: sent, registered, dead-lettered, lost, duplicated, rejected, recovery seconds;
definitions in ``chaos_figures``) with the runtime's warnings of that test, and asserts that
every node ended registered, none lost, duplicated or rejected. The runtime keeps its default
retry settings: riding out these faults is what the defaults must do. The tests share one stack
(``kafka_chaos``: a boot and teardown saved per test), each with a fleet of its own; the kill -9
test comes last. Cost: about 2 minutes here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from chaos_figures import ModelChaosFigures
from chaos_harness import KafkaChaosStack

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="module"),
]

FLEET = 300  # nodes per test
RATE = 30.0  # introspections per second: a 10 s stream
OUTAGE_SECONDS = 15.0
PAUSE_SECONDS = 10.0
HELD = "dependency unavailable: messages held for retry"


async def _stream_through_fault(
    stack: KafkaChaosStack,
    chaos_report: Callable[[str], None],
    name: str,
    *,
    fault: Callable[[], Awaitable[None]],
    mend: Callable[[], Awaitable[float]],
    fault_seconds: float,
) -> ModelChaosFigures:
    """Stream a fleet, ``fault`` a third of the way in, ``mend`` ``fault_seconds`` later;
    report the settled figures, shut the fleet down, and check them."""
    await stack.wait_ready(within=120)  # whatever an earlier test broke is mended
    began = time.monotonic()
    fleet = await stack.fleet(FLEET)
    fleet.start_stream(RATE)
    async with asyncio.timeout(120):
        await fleet.wait_sent_at_least(FLEET // 3)
    await fault()
    await asyncio.sleep(fault_seconds)
    recovery = await mend()
    mended = time.monotonic()
    figures = await stack.settle(fleet, recovery_seconds=recovery)
    chaos_report(figures.line(name))
    print(
        f"  fault mended {mended - began:.1f} s after the stream began; "
        f"figures settled {time.monotonic() - mended:.1f} s after that"
    )
    # Shut down: the runtime deregisters the nodes while the next test's fleet joins.
    await fleet.close(announce_shutdown=True)
    assert figures.lost == 0, figures
    assert figures.duplicated == 0, figures
    assert figures.rejected == 0, figures
    assert figures.registered == figures.sent == FLEET, figures
    return figures


def _print_warnings(stack: KafkaChaosStack, since: int) -> None:
    """The runtime's warnings and errors of this test, one event per line with its count."""
    counts = stack.runtime.event_counts(at_least="warning", since=since)
    for (level, event), count in counts.most_common():
        print(f"  {count:5d} {level:7s} {event}")


async def test_postgres_outage_mid_stream_on_kafka_loses_nothing(
    kafka_chaos: KafkaChaosStack, chaos_report: Callable[[str], None]
) -> None:
    """PostgreSQL stopped for 15 s in the middle of a stream: messages are held for retry (said
    once in the log, nothing dead-lettered), and every node ends registered."""
    stack = kafka_chaos
    since = stack.runtime.mark()

    async def down() -> None:
        await stack.postgres_down()
        await stack.wait_not_ready()

    await _stream_through_fault(
        stack,
        chaos_report,
        "postgres outage 15 s (kafka, onex-infra run)",
        fault=down,
        mend=stack.postgres_up,
        fault_seconds=OUTAGE_SECONDS,
    )
    _print_warnings(stack, since)
    assert stack.runtime.events(HELD, since=since)
    assert not stack.runtime.events("message dead-lettered", since=since)


async def test_broker_paused_mid_stream_loses_nothing(
    kafka_chaos: KafkaChaosStack, chaos_report: Callable[[str], None]
) -> None:
    """The Kafka broker paused (SIGSTOP) for 10 s mid-stream, then resumed: every node ends
    registered, none twice."""
    stack = kafka_chaos
    since = stack.runtime.mark()

    async def pause() -> None:
        stack.pause_broker()

    await _stream_through_fault(
        stack,
        chaos_report,
        "broker paused 10 s (kafka, onex-infra run)",
        fault=pause,
        mend=stack.resume_broker,
        fault_seconds=PAUSE_SECONDS,
    )
    _print_warnings(stack, since)


async def test_discovery_down_mid_stream_loses_nothing(
    kafka_chaos: KafkaChaosStack, chaos_report: Callable[[str], None]
) -> None:
    """The Consul agent refusing connections for 15 s mid-stream: registrations are held for
    retry, none rejected, and every node ends registered in both backends."""
    stack = kafka_chaos
    since = stack.runtime.mark()

    async def down() -> None:
        await stack.discovery_down()
        await stack.wait_not_ready()

    await _stream_through_fault(
        stack,
        chaos_report,
        "discovery outage 15 s (kafka, onex-infra run)",
        fault=down,
        mend=stack.discovery_up,
        fault_seconds=OUTAGE_SECONDS,
    )
    _print_warnings(stack, since)
    assert stack.runtime.events(HELD, since=since)


async def test_runtime_killed_mid_stream_and_restarted_loses_nothing(
    kafka_chaos: KafkaChaosStack, chaos_report: Callable[[str], None]
) -> None:
    """`onex-infra run` killed -9 mid-stream and started again: what it had not committed is
    redelivered, none of it applied twice, and every node ends registered."""
    stack = kafka_chaos
    since = stack.runtime.mark()
    starts = stack.runtime.starts

    async def kill() -> None:
        stack.kill_runtime()

    await _stream_through_fault(
        stack,
        chaos_report,
        "runtime killed -9, restarted (kafka, onex-infra run)",
        fault=kill,
        mend=stack.restart_runtime,
        fault_seconds=2.0,
    )
    _print_warnings(stack, since)
    assert stack.runtime.starts == starts + 1
