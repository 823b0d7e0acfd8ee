"""Registration soak: RSS while many registrations pass through the runtime (not a test).

    .venv/bin/python benchmarks/bench_soak.py [--nodes 200000] [--live 20000] [--batch 2000]
        [--cache-size 10000] [--samples 20]

The runtime is ``RuntimeHostProcess`` as ``onex-infra run`` builds it from a runtime config
(``build_infrastructure``; the in-memory bus the host builds from ``event_bus:``, with its
byte bounds; PostgreSQL in ``external`` mode on an embedded server; the local discovery
backend; ``nodes.registration.cache_size`` = ``--cache-size``). Simulated nodes
(``NodeRegistrationClient`` in a ``NodeFleet``, in this process) register in batches of
``--batch``: introspect, are accepted, ack, become active. Once ``--live`` nodes are registered,
every new batch is followed by the oldest batch shutting down (deregistered from PostgreSQL
and discovery), so ``--nodes`` registrations pass through while ``--live`` stay registered:
the registry's memory should level off once the live set is full.

RSS (psutil, this whole process: runtime, bus, discovery, the simulated nodes) is sampled
after every ``--nodes / --samples`` registrations, once the bus is idle. After the soak the
live set doubles (``--live`` more nodes register, nobody leaves) and RSS is sampled again.

- growth over the second half: (RSS at the last sample - RSS at the middle sample) / RSS at
  the middle sample (target < 5%);
- memory per live registration: (RSS with 2 x ``--live`` live - RSS with ``--live`` live at
  the end of the soak) / ``--live``: what one more live registration costs once the bus's
  retention and the projection's cache are full (target <= 3 KB). Memory freed by nodes that
  left during the soak can be reused, so this is the steady-state cost, not the first fill's;
  the first fill's figure ((RSS once ``--live`` are live - RSS before) / ``--live``, bus
  retention and cache filling included) is printed beside it.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import NamedTuple
from uuid import UUID, uuid4

import psutil
from pydantic import BaseModel

from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers, new_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION
from omnibase_infra.observability.logging import configure_logging
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure
from omnibase_infra.runtime.launch import run_event_loop

_DSN_VARIABLE = "ONEX_BENCH_SOAK_DSN"
TARGET_GROWTH = 0.05  # issue 17: RSS flat (< 5%) over the second half
TARGET_BYTES_PER_LIVE = 3 * 1024  # issue 17: <= 3 KB per live registration


class _Batch:
    """One batch of nodes: registered together, shut down together.

    While registering, the clients and their fleet (it routes the registry's answers) exist;
    once every node is active only their ids and names are kept, so what stays in memory per
    live node is the runtime's, not the simulated node's.
    """

    def __init__(self, first: int, size: int) -> None:
        self.first = first
        self.size = size
        self.nodes: list[tuple[UUID, str]] = []

    def _description(self, index: int, node_id: UUID | None = None) -> ModelNodeDescription:
        name = f"soak-{self.first + index:07d}"
        if node_id is None:
            return ModelNodeDescription(node_name=name, capability="soak.node")
        return ModelNodeDescription(node_id=node_id, node_name=name, capability="soak.node")

    async def register(self, bus: EventBusInmemory) -> None:
        """Introspect every node of the batch and wait until the registry made each active."""
        fleet = NodeFleet(bus, group_id=f"soak-{uuid4().hex[:8]}")
        clients = [
            fleet.add(
                NodeRegistrationClient(
                    bus, self._description(index), heartbeat_interval_seconds=3600
                )
            )
            for index in range(self.size)
        ]
        await fleet.listen()
        for client in clients:
            payload = client._introspection()
            assert isinstance(payload, BaseModel)
            envelope = new_envelope(payload, correlation_id=uuid4(), producer="soak")
            await bus.publish(
                TOPIC_NODE_INTROSPECTION,
                str(client.node_id).encode(),
                encode_envelope(envelope),
                envelope_headers(envelope),
            )
        for client in clients:
            await client.active.wait()
        await fleet.close()
        self.nodes = [(c.node_id, c.description.node_name) for c in clients]

    async def shut_down(self, bus: EventBusInmemory) -> None:
        """Every node of the batch announces its shutdown (the registry deregisters it)."""
        for index, (node_id, _) in enumerate(self.nodes):
            await NodeRegistrationClient(bus, self._description(index, node_id)).stop()


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


async def soak(nodes: int, live: int, batch: int, cache_size: int, samples: int) -> _Samples:
    """Run the soak; its RSS samples."""
    base_dir = Path(tempfile.mkdtemp(prefix="onex-bench-soak-"))
    server = EmbeddedPostgres(base_dir, fast=True)
    await server.start()
    try:
        await server.create_database("soak")
        os.environ[_DSN_VARIABLE] = server.dsn("soak")
        config = load_runtime_config(
            None,
            http={"enabled": False},
            postgres={"mode": "external", "dsn": f"env://{_DSN_VARIABLE}"},
            nodes={"registration": {"tick_interval_seconds": 86_400.0, "cache_size": cache_size}},
            log_level="ERROR",
        )
        async with build_infrastructure(config) as infra:
            host = RuntimeHostProcess(
                config,
                handlers=infra.handlers,
                services=infra.services,
                components=infra.components,
                exclude_nodes=infra.exclude_nodes,
            )
            await host.start()
            freeze_boot_heap()  # as ``onex-infra run`` does once it is up
            bus = host.bus
            assert isinstance(bus, EventBusInmemory)
            try:
                return await _drive(bus, nodes, live, batch, samples)
            finally:
                await host.stop()
    finally:
        await server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


class _Samples(NamedTuple):
    """RSS before any registration, after every step of the soak, and after the growth."""

    before: int
    soak: list[int]
    grown: int


def _sample(bus: EventBusInmemory, registered: int, live: int, began: float) -> int:
    rss = _rss()
    print(
        f"  {registered:>8} registered, {live:>7} live: RSS {rss / 2**20:8.1f} MiB, bus holds "
        f"{bus.retained_bytes() / 2**20:5.1f} MiB ({time.perf_counter() - began:5.0f} s)",
        flush=True,
    )
    return rss


async def _drive(
    bus: EventBusInmemory, nodes: int, live: int, batch: int, samples: int
) -> _Samples:
    every = max(batch, nodes // samples)
    before = _rss()
    soak: list[int] = []
    registered = 0
    alive: deque[_Batch] = deque()
    began = time.perf_counter()
    while registered < nodes:
        current = _Batch(registered, min(batch, nodes - registered))
        await current.register(bus)
        alive.append(current)
        registered += current.size
        while sum(b.size for b in alive) > live:
            await alive.popleft().shut_down(bus)
        if registered % every == 0 or registered == nodes:
            await bus.wait_idle()
            soak.append(_sample(bus, registered, sum(b.size for b in alive), began))
    # The live set doubles, nobody leaves: what that adds is what live registrations cost.
    print("growth: the live set doubles")
    for first in range(registered, registered + live, batch):
        current = _Batch(first, min(batch, registered + live - first))
        await current.register(bus)
    await bus.wait_idle()
    grown = _sample(bus, registered + live, 2 * live, began)
    return _Samples(before, soak, grown)


def _report(rss: _Samples, nodes: int, live: int) -> list[ModelBenchFigure]:
    samples = rss.soak
    middle = samples[(len(samples) - 1) // 2]
    growth = (samples[-1] - middle) / middle
    per_live = (rss.grown - samples[-1]) / live
    print(f"\nRSS before the first registration: {rss.before / 2**20:.1f} MiB")
    print("RSS at each tenth of the soak:")
    for tenth in range(1, 11):
        sample = samples[min(len(samples) - 1, round(tenth * len(samples) / 10) - 1)]
        print(f"  {tenth * 10:>3}%: {sample / 2**20:8.1f} MiB")
    print(
        f"growth over the second half: {growth * 100:+.1f}% (target < {TARGET_GROWTH * 100:.0f}%)"
    )
    fill = samples[min(len(samples), max(1, round(live * len(samples) / nodes))) - 1]
    print(
        f"while the live set first fills: {(fill - rss.before) / live / 1024:.2f} KB per live "
        "registration (it includes the bus's retention filling up and the projection's cache)"
    )
    print(
        f"memory per live registration: {per_live / 1024:.2f} KB = (RSS with {2 * live} live - "
        f"RSS with {live} live at the end of the soak) / {live} (target <= "
        f"{TARGET_BYTES_PER_LIVE // 1024} KB)"
    )
    return [
        ModelBenchFigure(
            what=f"RSS growth, second half of a {nodes}-registration soak ({live} live)",
            measured=f"{growth * 100:+.1f}% "
            f"({middle / 2**20:.0f} -> {samples[-1] / 2**20:.0f} MiB)",
            baseline=f"{rss.before / 2**20:.0f} MiB before the first registration",
            target=f"< {TARGET_GROWTH * 100:.0f}%",
            met=growth < TARGET_GROWTH,
        ),
        ModelBenchFigure(
            what="memory per live registration (RSS added by live nodes after the soak)",
            measured=f"{per_live / 1024:.2f} KB",
            baseline=f"{live} -> {2 * live} live registrations",
            target=f"<= {TARGET_BYTES_PER_LIVE // 1024} KB",
            met=per_live <= TARGET_BYTES_PER_LIVE,
        ),
    ]


def main() -> None:
    """Parse the arguments, run the soak, print and record its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000, help="registrations in all")
    parser.add_argument("--live", type=int, default=20_000, help="nodes registered at once")
    parser.add_argument("--batch", type=int, default=2_000, help="nodes introspecting at once")
    parser.add_argument("--cache-size", type=int, default=10_000, help="projection's size")
    parser.add_argument("--samples", type=int, default=20, help="RSS samples over the soak")
    args = parser.parse_args()
    if not 0 < args.batch <= args.live < args.nodes or args.samples < 2:
        parser.error("need 0 < --batch <= --live < --nodes and --samples >= 2")
    configure_logging("ERROR")
    load_before = load_average()
    print(load_line())
    print(
        f"soak: {args.nodes} registrations, {args.live} live, batches of {args.batch}, "
        f"cache_size {args.cache_size}"
    )
    rss = run_event_loop(soak(args.nodes, args.live, args.batch, args.cache_size, args.samples))
    figures = _report(rss, args.nodes, args.live)
    print(load_line())
    record("bench_soak", load_before, figures)


if __name__ == "__main__":
    main()
