"""Where a dispatched message's CPU goes, step by step (not a benchmark; see bench_dispatch).

    .venv/bin/python benchmarks/profile_dispatch.py [--messages 50000] [--repeats 5]

Runs, interleaved in every repeat and on the same envelopes as ``bench_dispatch``:

- **bare**: decode + validate + await the handler (the bare limit);
- **engine**: the callback ``MessageDispatchEngine`` gives the bus, on ready-made messages;
- **publish**: ``EventBusInmemory.publish`` on a topic no group consumes (no delivery);
- **bus**: publish and delivery to a callback that only counts (no engine);
- **runtime**: publish -> delivery -> engine -> no-op node, as ``bench_dispatch`` runs it.

and prints each step's CPU per message (process CPU, median of the repeats) and its share of
the runtime's: decode + validate + handler (bare), the engine's own work (engine - bare), the
bus's publish, its delivery (bus - publish; with the counting callback's own coroutine), and
the rest (runtime less all of those: what only their composition costs, such as a message's
data gone cold in the CPU caches while the publisher ran ahead). Subtractive, so no profiler
inflates the small calls; each figure is a difference of medians, within about 0.1-0.2 µs on a
loaded machine. Run it in the worktrees to compare (``PYTHONPATH=<worktree>/src``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping

import uvloop

from bench_dispatch import TOPIC, _engine, _messages, bare_throughput, runtime_throughput
from bench_dispatch import NoopHandler as _NoopHandler
from bench_report import load_line
from omnibase_infra.event_bus.base import OffsetReset, Unsubscribe
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage, MessageCallback
from omnibase_infra.runtime.heap import freeze_boot_heap

Messages = list[tuple[bytes, bytes, dict[str, str]]]


class _RecordingBus(EventBusInmemory):
    """An in-memory bus that keeps the callbacks its subscribers join with."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: dict[str, MessageCallback] = {}

    async def subscribe_group(
        self,
        callbacks: Mapping[str, MessageCallback],
        *,
        group_id: str,
        auto_offset_reset: OffsetReset = "latest",
        in_flight_per_partition: int | None = None,
    ) -> Unsubscribe:
        """Join as the base does, keeping the callbacks."""
        self.callbacks.update(callbacks)
        return await super().subscribe_group(
            callbacks,
            group_id=group_id,
            auto_offset_reset=auto_offset_reset,
            in_flight_per_partition=in_flight_per_partition,
        )


async def engine_only(messages: Messages) -> float:
    """CPU seconds of the engine's bus callback (what a delivery calls) on every message, as
    bus messages made beforehand (their making is not counted)."""
    bus = _RecordingBus()
    engine = _engine(bus, _NoopHandler())
    await engine.start()
    callback = bus.callbacks[TOPIC]
    ready = [
        BusMessage(TOPIC, key, value, None, 0, offset, 0.0)
        for offset, (key, value, _) in enumerate(messages)
    ]
    before = time.process_time()
    for message in ready:
        await callback(message)
    cpu = time.process_time() - before
    await engine.stop()
    await bus.close()
    return cpu


async def publish_only(messages: Messages) -> float:
    """Publish every message to a topic nobody consumes."""
    bus = EventBusInmemory()
    publish = bus.publish
    before = time.process_time()
    for key, value, headers in messages:
        await publish(TOPIC, key, value, headers)
    cpu = time.process_time() - before
    await bus.close()
    return cpu


async def bus_only(messages: Messages) -> float:
    """Publish every message and have the bus deliver it to a callback that only counts."""
    bus = EventBusInmemory()
    expected = len(messages)
    done = asyncio.Event()
    count = 0

    async def on_message(message: BusMessage) -> None:
        nonlocal count
        count += 1
        if count == expected:
            done.set()

    # One at a time per partition, as the runtime delivers to a COMPUTE node.
    await bus.subscribe(TOPIC, on_message=on_message, group_id="profile", in_flight_per_partition=1)
    publish = bus.publish
    before = time.process_time()
    for key, value, headers in messages:
        await publish(TOPIC, key, value, headers)
    await done.wait()
    cpu = time.process_time() - before
    await bus.close()
    return cpu


def _cpu_of(run: Callable[[Messages], Awaitable[float]]) -> Callable[[Messages], Awaitable[float]]:
    """``run`` (a bench_dispatch variant, which returns wall seconds) returning CPU seconds."""

    async def timed(messages: Messages) -> float:
        before = time.process_time()
        await run(messages)
        return time.process_time() - before

    return timed


# Each returns the CPU seconds of its run over all the messages.
VARIANTS: dict[str, Callable[[Messages], Awaitable[float]]] = {
    "bare": _cpu_of(bare_throughput),
    "engine": engine_only,
    "publish": publish_only,
    "bus": bus_only,
    "runtime": _cpu_of(runtime_throughput),
}


async def main(count: int, repeats: int) -> None:
    """Run every variant ``repeats`` times, interleaved, and print the per-step table."""
    print(f"before: {load_line()}")
    messages = _messages(count)
    for variant in VARIANTS.values():
        await variant(messages[:2000])  # warm-up: imports, pydantic's first calls
    freeze_boot_heap()
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for repeat in range(repeats):
        names = list(VARIANTS)
        for name in names if repeat % 2 == 0 else names[::-1]:
            gc.collect()
            cpu[name].append(await VARIANTS[name](messages) / count * 1e6)
    us = {name: statistics.median(values) for name, values in cpu.items()}
    steps = [
        ("decode + validate + handler (bare loop)", us["bare"]),
        ("engine's own work (engine - bare)", us["engine"] - us["bare"]),
        ("bus publish", us["publish"]),
        ("bus delivery (bus - publish)", us["bus"] - us["publish"]),
        (
            "rest: composition (runtime - the above)",
            us["runtime"] - us["engine"] - us["bus"],
        ),
    ]
    print(f"\n{count:,} envelopes x {repeats} repeats; CPU µs per message (median)")
    for name, values in cpu.items():
        print(f"  {name:<8} {us[name]:6.2f}  ({min(values):.2f}-{max(values):.2f})")
    print(f"\n{'step':<42} {'µs/msg':>7} {'share':>6}")
    for label, value in steps:
        print(f"{label:<42} {value:7.2f} {100 * value / us['runtime']:5.1f}%")
    print(f"runtime / bare (CPU): {us['runtime'] / us['bare']:.2f}x")
    print(f"after: {load_line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(arguments.messages, arguments.repeats))
