"""The ingress's overhead: POST to dispatched against a direct in-process publish (not a test).

    .venv/bin/python benchmarks/bench_ingress.py [--events 20000] [--repeats 5]
        [--connections 16] [--batch 100]

A server process, pinned to one core, holds what ``onex-infra run`` holds on the local profile
for this path: the in-memory bus (the runtime's defaults), the dispatch engine with one no-op
node (a route by topic and payload type, the payload validated into the node's input model),
and the ingress app served by uvicorn on a free 127.0.0.1 port (rate limit out of the way).
The same events (a small bare payload with its payload type) go, interleaved in every repeat:

- **direct**: inside the server, ``new_json_envelope`` + ``bus.publish`` of each event (what a
  producer in the process does), until the node has handled all of them;
- **ingress**: from this process (pinned to the other core), ``POST /v1/events/{topic}?
  payload_type=...`` over ``--connections`` keep-alive connections (``http_load``: a minimal
  HTTP/1.1 client, one request in flight a connection), until the server says the node
  handled all of them;
- **batch**: the same events, ``--batch`` a request, to ``POST /v1/events/{topic}/batch``
  (a JSON array of the bare payloads);
- **bare HTTP**: the same POSTs to a second port of the server, served by the same HTTP server
  as the ingress (``ingress_server``: uvicorn with httptools, the same settings) and answered by
  the least an HTTP ingress must do, at the ingress's place (before the FastAPI app, as
  ``fast_path``: read the body, ``json.loads``, wrap, publish, 202; no checks): the floor of one
  HTTP request per event with this server on this machine;
- **socket**: the same POSTs to a third port, a bare ``asyncio.Protocol`` on the same loop that
  is no HTTP server (it splits the load client's requests by their ``content-length`` and writes
  a canned 202) and does the same wrap and publish: what one loopback round trip per event costs
  before any HTTP server runs (the kernel's reads and writes, the event loop's wake-ups).

Per event: the server's CPU time (``time.process_time`` of the server process, so the client's
cost is not counted) and the wall time. The ratios are the ingress's server CPU per event over
the direct path's and over the bare HTTP floor's; the two floors' over the direct path's say how
much of the ratio is the HTTP server and how much the loopback round trip. Events/s through the
port is wall-clock (the client can be the limit on two cores: the server's events per CPU second
say what one core of the server does). Medians over repeats with min-max; the machine's load
average before and after.
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
from typing import cast
from uuid import uuid4

import httpx
import uvloop
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from bench_dispatch import ModelBenchPayload
from bench_report import ModelBenchFigure, load_average, load_line, record
from http_load import post_all, post_request
from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.engine import MessageDispatchEngine, make_route
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers, new_json_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.ingress.app import create_ingress_app
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.ingress_component import ingress_server

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


async def _publish_bare(bus: EventBusInmemory, body: bytes) -> None:
    """What every floor does per event: parse, wrap, publish (no checks)."""
    envelope = new_json_envelope(
        json.loads(body), payload_type=PAYLOAD_TYPE, correlation_id=uuid4(), producer="bench"
    )
    await bus.publish(TOPIC, None, encode_envelope(envelope), envelope_headers(envelope))


class BareIngressApp(FastAPI):
    """The least an HTTP ingress does per POST, where the ingress's fast path answers (before
    the FastAPI app): read, parse, wrap, publish, answer 202."""

    bus: EventBusInmemory | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.bus is None or scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await _publish_bare(self.bus, b"".join(chunks))
        await send(
            {"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"{}"})


_CANNED_202 = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"


class SocketFloor(asyncio.Protocol):
    """No HTTP server: the load client's POSTs split by their ``content-length`` (which
    ``http_load.post_request`` always sends), each body published, a canned 202 written."""

    def __init__(self, bus: EventBusInmemory) -> None:
        self._bus = bus
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            at = self._buffer.find(b"content-length: ", 0, end)
            length = int(self._buffer[at + 16 : self._buffer.find(b"\r\n", at)])
            if len(self._buffer) < end + 4 + length:
                return
            body, self._buffer = (
                self._buffer[end + 4 : end + 4 + length],
                self._buffer[end + 4 + length :],
            )
            task = asyncio.ensure_future(self._answer(body))  # as a server runs its app: a task
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _answer(self, body: bytes) -> None:
        await _publish_bare(self._bus, body)
        if self._transport is not None:
            self._transport.write(_CANNED_202)


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

    bare_app = BareIngressApp()
    bare_app.bus = bus
    server = ingress_server(app, "127.0.0.1", 0)
    bare = ingress_server(bare_app, "127.0.0.1", 0)  # the same server, settings and all
    socket_floor = await asyncio.get_running_loop().create_server(
        lambda: SocketFloor(bus), "127.0.0.1", 0
    )
    ports = (await server.start(), await bare.start(), socket_floor.sockets[0].getsockname()[1])
    freeze_boot_heap()
    conn.send(ports)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    socket_floor.close()
    await bare.stop()
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
    client: httpx.AsyncClient, port: int, count: int, connections: int, batch: int = 0
) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) to POST ``count`` events to ``port`` until all are
    handled: one event a request, or (``batch``) that many a request to the batch route."""
    query = f"?payload_type={PAYLOAD_TYPE}"
    if batch:
        path = f"/v1/events/{TOPIC}/batch{query}"
        requests = [
            post_request(
                path, json.dumps([_payload(i) for i in range(s, min(s + batch, count))]).encode()
            )
            for s in range(0, count, batch)
        ]
    else:
        path = f"/v1/events/{TOPIC}{query}"
        requests = [post_request(path, json.dumps(_payload(i)).encode()) for i in range(count)]
    handled_before, cpu_before = await _stats(client)
    began = time.perf_counter()
    await post_all(port, requests, min(connections, len(requests)))
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


async def main(
    count: int, repeats: int, connections: int, batch: int, ports: tuple[int, int, int]
) -> list[ModelBenchFigure]:
    """Run every variant ``repeats`` times, interleaved, print the table; its figures."""
    results: dict[str, list[tuple[float, float]]] = {
        "ingress": [],
        "batch": [],
        "bare": [],
        "socket": [],
        "direct": [],
    }
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{ports[0]}", timeout=600, trust_env=False
    ) as client:

        async def run(variant: str, events: int) -> tuple[float, float]:
            if variant == "direct":
                return await direct_run(client, events)
            port = {"bare": ports[1], "socket": ports[2]}.get(variant, ports[0])
            return await ingress_run(
                client, port, events, connections, batch if variant == "batch" else 0
            )

        for variant in results:  # warm-up
            await run(variant, min(count, 2000))
        for repeat in range(repeats):
            order = list(results) if repeat % 2 == 0 else list(reversed(results))
            for variant in order:
                results[variant].append(await run(variant, count))
            print(
                f"  repeat {repeat + 1}/{repeats}: "
                + ", ".join(
                    f"{v} {count / r[-1][0]:,.0f}/s ({r[-1][1] / count * 1e6:.0f} µs CPU/event)"
                    for v, r in results.items()
                ),
                flush=True,
            )
    return _report(results, count, repeats, connections, batch)


def _report(
    results: dict[str, list[tuple[float, float]]],
    count: int,
    repeats: int,
    connections: int,
    batch: int,
) -> list[ModelBenchFigure]:
    def micro(value: float) -> str:
        return f"{value:.1f}"

    def rate(value: float) -> str:
        return f"{value:,.0f}"

    names = {
        "ingress": "ingress: POST -> dispatched",
        "batch": f"ingress batch of {batch}: POST -> dispatched",
        "bare": "bare HTTP (same server): POST -> dispatched",
        "socket": "socket floor (no HTTP): POST -> dispatched",
        "direct": "direct: publish -> dispatched",
    }
    rows = [("variant", "events/s (wall)", "server CPU µs/event", "events per server CPU s")]
    for variant, runs in results.items():
        rows.append(
            (
                names[variant],
                _spread([count / s for s, _ in runs], rate),
                _spread([c / count * 1e6 for _, c in runs], micro),
                _spread([count / c for _, c in runs], rate),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    print(f"{count:,} events x {repeats} repeats, {connections} keep-alive connections")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))

    def ratios(variant: str, other: str) -> list[float]:
        return [v[1] / o[1] for v, o in zip(results[variant], results[other], strict=True)]

    print()
    print(
        f"ingress / direct server CPU per event: {_spread(ratios('ingress', 'direct'), _times)}; "
        f"batch / direct: {_spread(ratios('batch', 'direct'), _times)}; "
        f"ingress / bare HTTP: {_spread(ratios('ingress', 'bare'), _times)}; "
        f"bare HTTP / direct: {_spread(ratios('bare', 'direct'), _times)}; "
        f"socket floor / direct: {_spread(ratios('socket', 'direct'), _times)}"
    )
    direct_cpu = statistics.median([c / count * 1e6 for _, c in results["direct"]])
    direct_rate = statistics.median([count / c for _, c in results["direct"]])
    figures: list[ModelBenchFigure] = []
    for variant, how in (("ingress", "one event a request"), ("batch", f"batches of {batch}")):
        median_ratio = statistics.median(ratios(variant, "direct"))
        wall = statistics.median([count / s for s, _ in results[variant]])
        per_core = statistics.median([count / c for _, c in results[variant]])
        print(
            f"targets, {how}: <= {TARGET_RATIO}x direct: "
            f"{'met' if median_ratio <= TARGET_RATIO else 'MISSED'} ({median_ratio:.2f}x); "
            f">= {TARGET_PER_SECOND:,}/s on one server core: "
            f"{'met' if per_core >= TARGET_PER_SECOND else 'MISSED'} ({per_core:,.0f} per CPU "
            f"second; {wall:,.0f}/s wall)"
        )
        bare = (
            f", {_spread(ratios('ingress', 'bare'), _times)} of the bare HTTP floor (same server;"
            f" itself {_spread(ratios('bare', 'direct'), _times)} direct; a loopback socket round"
            f" trip without HTTP {_spread(ratios('socket', 'direct'), _times)} direct)"
        )
        figures += [
            ModelBenchFigure(
                what=f"ingress POST -> dispatched, {how} (server CPU per event vs an "
                "in-process publish)",
                measured=f"**{_spread(ratios(variant, 'direct'), _times)}**"
                + (bare if variant == "ingress" else ""),
                baseline=f"direct publish -> dispatched {direct_cpu:.0f} µs/event",
                target=f"<= {TARGET_RATIO}x",
                met=median_ratio <= TARGET_RATIO,
            ),
            ModelBenchFigure(
                what=f"ingress events per server CPU second, {how}, {connections} keep-alive "
                "connections",
                measured=f"**{per_core:,.0f}**/CPU s ({wall:,.0f}/s wall)",
                baseline=f"direct {direct_rate:,.0f}/CPU s",
                target=f">= {TARGET_PER_SECOND:,}/s on one core",
                met=per_core >= TARGET_PER_SECOND,
            ),
        ]
    return figures


def _times(value: float) -> str:
    return f"{value:.2f}x"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100, help="events a batch request")
    arguments = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    load_before = load_average()
    print(load_line())
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_server_main, args=(theirs, server_core), daemon=True
    )
    server.start()
    try:
        bound: tuple[int, int, int] = ours.recv()
        os.sched_setaffinity(0, {client_core})
        print(f"server on core {server_core} (ports {bound}), client on core {client_core}")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(
                main(
                    arguments.events,
                    arguments.repeats,
                    arguments.connections,
                    arguments.batch,
                    bound,
                )
            )
    finally:
        ours.send("stop")
        server.join(timeout=30)
    print(load_line())
    record("bench_ingress", load_before, figures)
