"""The ingress's overhead: POST to dispatched against a direct in-process publish (not a test).

    .venv/bin/python benchmarks/bench_ingress.py [--events 20000] [--repeats 5]
        [--connections 16]

A server process, pinned to one core, holds what ``onex-infra run`` holds on the local profile
for this path: the in-memory bus (the runtime's defaults), the dispatch engine with one no-op
node (a route by topic and payload type, the payload validated into the node's input model),
and the ingress app served by uvicorn on a free 127.0.0.1 port (rate limit out of the way).
The same events (a small bare payload with its payload type) go, interleaved in every repeat:

- **direct**: inside the server, ``new_json_envelope`` + ``bus.publish`` of each event (what a
  producer in the process does), until the node has handled all of them;
- **ingress**: from this process (pinned to the other core), ``POST /v1/events/{topic}?
  payload_type=...`` over ``--connections`` keep-alive httpx connections, until the server says
  the node handled all of them.

Per event: the server's CPU time (``time.process_time`` of the server process, so the client's
cost is not counted) and the wall time. The ratio is the ingress's server CPU per event over
the direct path's; events/s through the port is wall-clock (the client can be the limit on two
cores: the server-side events per CPU second say what one core of the server does). Medians
over repeats with min-max; the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from uuid import uuid4

import httpx
import uvloop
from fastapi import FastAPI
from pydantic import BaseModel

from bench_dispatch import ModelBenchPayload
from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.engine import MessageDispatchEngine, make_route
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers, new_json_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.ingress.app import create_ingress_app
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.http_server import HubServer

TOPIC = "onex.cmd.bench.do-nothing.v1"
NODE = "bench_noop_compute"
PAYLOAD_TYPE = "ModelBenchPayload"
TARGET_PER_SECOND = 5_000
TARGET_RATIO = 2.0


def _payload(i: int) -> dict[str, int | str]:
    return {"order_id": i, "sku": f"sku-{i % 997}", "quantity": i % 7 + 1}


class NoopHandler:
    """A node handler that only counts, and says when a count was reached."""

    def __init__(self) -> None:
        self.count = 0
        self._target = 0
        self._reached = asyncio.Event()

    async def handle(self, context: DispatchContext | BaseModel) -> None:
        """Count one message."""
        self.count += 1
        if self.count == self._target:
            self._reached.set()

    def until(self, target: int) -> asyncio.Event:
        """An event set once ``target`` messages were counted."""
        self._target = target
        self._reached = asyncio.Event()
        if self.count >= target:
            self._reached.set()
        return self._reached


# -- the server process ---------------------------------------------------------------------


async def _serve(conn: Connection) -> None:
    bus = EventBusInmemory()
    handler = NoopHandler()
    engine = MessageDispatchEngine(bus)
    engine.add_route(
        make_route(
            node_name=NODE,
            archetype=EnumNodeKind.COMPUTE,
            topic=TOPIC,
            handler=handler,
            payload_type=PAYLOAD_TYPE,
            input_model=ModelBenchPayload,
        )
    )
    await engine.start()
    settings = ModelIngressSettings(port=0, rate_per_second=1e9, rate_burst=1_000_000_000)
    app: FastAPI = create_ingress_app(bus, settings)

    @app.get("/bench/stats")
    async def stats() -> dict[str, float]:
        return {"handled": handler.count, "cpu": time.process_time()}

    @app.post("/bench/direct/{count}")
    async def direct(count: int) -> dict[str, float]:
        payloads = [_payload(i) for i in range(count)]
        reached = handler.until(handler.count + count)
        began, cpu = time.perf_counter(), time.process_time()
        for payload in payloads:
            envelope = new_json_envelope(
                payload, payload_type=PAYLOAD_TYPE, correlation_id=uuid4(), producer="bench"
            )
            await bus.publish(TOPIC, None, encode_envelope(envelope), envelope_headers(envelope))
        await reached.wait()
        return {"seconds": time.perf_counter() - began, "cpu": time.process_time() - cpu}

    server = HubServer(app, "127.0.0.1", 0, name="bench ingress", setting="--")
    port = await server.start()
    freeze_boot_heap()
    conn.send(port)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    await server.stop()
    await engine.stop()
    await bus.close()


def _server_main(conn: Connection, core: int) -> None:
    os.sched_setaffinity(0, {core})
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(conn))


# -- the client -----------------------------------------------------------------------------


async def _stats(client: httpx.AsyncClient) -> tuple[int, float]:
    body = (await client.get("/bench/stats")).json()
    return int(body["handled"]), float(body["cpu"])


async def ingress_run(
    client: httpx.AsyncClient, count: int, connections: int
) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) to POST ``count`` events until all are handled."""
    bodies = [json.dumps(_payload(i)).encode() for i in range(count)]
    handled_before, cpu_before = await _stats(client)
    url = f"/v1/events/{TOPIC}"
    params = {"payload_type": PAYLOAD_TYPE}
    headers = {"content-type": "application/json"}
    began = time.perf_counter()

    async def worker(start: int) -> None:
        for body in bodies[start::connections]:
            reply = await client.post(url, content=body, params=params, headers=headers)
            if reply.status_code != 202:
                raise SystemExit(f"ingress answered {reply.status_code}: {reply.text}")

    await asyncio.gather(*(worker(i) for i in range(connections)))
    while (await _stats(client))[0] < handled_before + count:  # noqa: ASYNC110 - another process
        await asyncio.sleep(0.001)
    seconds = time.perf_counter() - began
    _, cpu_after = await _stats(client)
    return seconds, cpu_after - cpu_before


async def direct_run(client: httpx.AsyncClient, count: int) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of the in-process publish of ``count`` events."""
    body = (await client.post(f"/bench/direct/{count}", timeout=600)).json()
    return float(body["seconds"]), float(body["cpu"])


def _spread(values: list[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


async def main(count: int, repeats: int, connections: int, port: int) -> None:
    """Run both variants ``repeats`` times, interleaved, and print the table."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60, trust_env=False
    ) as client:
        await ingress_run(client, min(count, 2000), connections)  # warm-up
        await direct_run(client, min(count, 2000))
        direct: list[tuple[float, float]] = []
        ingress: list[tuple[float, float]] = []
        for repeat in range(repeats):
            order = ("direct", "ingress") if repeat % 2 == 0 else ("ingress", "direct")
            for variant in order:
                if variant == "direct":
                    direct.append(await direct_run(client, count))
                else:
                    ingress.append(await ingress_run(client, count, connections))
            print(
                f"  repeat {repeat + 1}/{repeats}: ingress {count / ingress[-1][0]:,.0f}/s "
                f"({ingress[-1][1] / count * 1e6:.0f} µs server CPU/event), direct "
                f"{count / direct[-1][0]:,.0f}/s ({direct[-1][1] / count * 1e6:.0f} µs/event)",
                flush=True,
            )

    def micro(value: float) -> str:
        return f"{value:.1f}"

    def rate(value: float) -> str:
        return f"{value:,.0f}"

    rows = [
        ("variant", "events/s (wall)", "server CPU µs/event", "events per server CPU s"),
        (
            "ingress: POST -> dispatched",
            _spread([count / s for s, _ in ingress], rate),
            _spread([c / count * 1e6 for _, c in ingress], micro),
            _spread([count / c for _, c in ingress], rate),
        ),
        (
            "direct: publish -> dispatched",
            _spread([count / s for s, _ in direct], rate),
            _spread([c / count * 1e6 for _, c in direct], micro),
            _spread([count / c for _, c in direct], rate),
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    print(f"{count:,} events x {repeats} repeats, {connections} keep-alive connections")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    ratios = [i[1] / d[1] for i, d in zip(ingress, direct, strict=True)]
    median_ratio = statistics.median(ratios)
    median_rate = statistics.median([count / s for s, _ in ingress])
    per_core = statistics.median([count / c for _, c in ingress])
    print()
    print(f"ingress / direct server CPU per event: {_spread(ratios, lambda v: f'{v:.2f}x')}")
    ratio_met = "met" if median_ratio <= TARGET_RATIO else "MISSED"
    rate_met = "met" if median_rate >= TARGET_PER_SECOND else "MISSED"
    core_met = "met" if per_core >= TARGET_PER_SECOND else "MISSED"
    print(
        f"targets: <= {TARGET_RATIO}x direct: {ratio_met} ({median_ratio:.2f}x); "
        f">= {TARGET_PER_SECOND:,}/s through the port: {rate_met} ({median_rate:,.0f}/s wall, "
        f"{core_met} per server core: {per_core:,.0f} per CPU second)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    arguments = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    print(_load())
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_server_main, args=(theirs, server_core), daemon=True
    )
    server.start()
    try:
        bound = ours.recv()
        os.sched_setaffinity(0, {client_core})
        print(f"server on core {server_core} (port {bound}), client on core {client_core}")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(arguments.events, arguments.repeats, arguments.connections, bound))
    finally:
        ours.send("stop")
        server.join(timeout=30)
    print(_load())
