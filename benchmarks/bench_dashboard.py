"""The dashboard on a loaded runtime: first paint in a real browser, and what the server does
(not a test).

    .venv/bin/python benchmarks/bench_dashboard.py [--registrations 10000] [--repeats 10]

``onex-infra run`` is spawned (the local profile; PostgreSQL ``external`` on an embedded
server started here, so registrations can be written straight into its table: ``--
registrations`` rows over the states the table holds, as ``test_registry_pages`` does). Then:

- **server**: ``GET /`` (the whole page: figures, tables, both contract graphs as SVG) and
  ``GET /api/snapshot`` from a keep-alive client, each asked after the feed's cache expired,
  so every answer counts the fleet again (one ``GROUP BY`` over the table); the fleet query
  alone on its own connection; the page's and one live event's size in bytes.
- **browser**: Debian's chromium driven by Playwright (``/usr/bin/chromium``); per repeat a
  fresh page loads the dashboard: first contentful paint (the browser's own paint timing,
  from navigation start) and the first live update received over SSE.

Medians with min-max over repeats; the machine's load average before and after; the run is
recorded in ``benchmarks/results/bench_dashboard.json`` (``render_measured.py`` puts it in the
README). Target: first paint <= 1 s with 10k registrations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import httpx
import yaml
from playwright.async_api import async_playwright

from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres

CLI = str(Path(sys.executable).parent / "onex-infra")
CHROMIUM = "/usr/bin/chromium"
_DSN = "BENCH_DASHBOARD_DSN"
_STATES = ("pending", "accepted", "active", "stale")  # what the table holds
_FILL = """
INSERT INTO onex_registrations (node_id, node_name, node_type, node_version, state,
    registered_at, last_heartbeat_at, updated_at, version)
SELECT gen_random_uuid(), 'node-' || lpad(i::text, 6, '0'), 'effect', '1.0.0',
    ($2::text[])[1 + i % array_length($2::text[], 1)], now(),
    now() - (i % 600) * interval '1 second', now(), 1
FROM generate_series(1, $1) AS i
"""
TARGET_PAINT_SECONDS = 1.0
_FLEET_SQL = (
    "SELECT state, storage_status, discovery_status, count(*) AS n, max(last_heartbeat_at) "
    "FROM onex_registrations GROUP BY state, storage_status, discovery_status"
)


def _spread(values: Sequence[float], unit: str = "ms", scale: float = 1000.0) -> str:
    scaled = [v * scale for v in values]
    return (
        f"{statistics.median(scaled):.1f} {unit} "
        f"({min(scaled):.1f}-{max(scaled):.1f}, n={len(scaled)})"
    )


@contextlib.asynccontextmanager
async def _runtime(workdir: Path, dsn: str) -> AsyncIterator[tuple[str, str]]:
    """``onex-infra run`` on free ports; yields (hub URL, dashboard URL) once ready."""
    config = workdir / "runtime.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "postgres": {"mode": "external", "dsn": f"env://{_DSN}"},
                "http": {"port": 0},
                "ingress": {"port": 0},
                "dashboard": {"port": 0, "interval_seconds": 1.0},
                "log_format": "json",
            }
        )
    )
    env = {**os.environ, _DSN: dsn, "HOME": str(workdir)}
    process = await asyncio.create_subprocess_exec(
        CLI,
        "run",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stderr is not None
    hub = dashboard = ""
    seen: list[bytes] = []
    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(120):
            while not (hub and dashboard):
                line = await process.stderr.readline()
                if not line:
                    tail = b"".join(seen[-30:]).decode(errors="replace")
                    raise RuntimeError(f"the runtime exited before it was ready:\n{tail}")
                seen.append(line)
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("event") == "dashboard listening":
                        dashboard = str(record["url"])
                    if record.get("event") == "runtime ready":
                        hub = f"http://127.0.0.1:{record['http_port']}"
        drain = asyncio.create_task(process.stderr.read())  # keep its pipe from filling
        yield hub, dashboard
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        if drain is not None:
            drain.cancel()


async def _server(dashboard: str, hub: str, dsn: str, repeats: int) -> ModelBenchFigure:
    page_times: list[float] = []
    snapshot_times: list[float] = []
    sql_times: list[float] = []
    async with httpx.AsyncClient(base_url=dashboard, timeout=60, trust_env=False) as http:
        page = await http.get("/")
        registry = (await http.get(f"{hub}/registry", params={"limit": 1})).json()
        for _ in range(repeats):
            await asyncio.sleep(0.55)  # past half the interval: the feed counts again
            started = time.perf_counter()
            await http.get("/")
            page_times.append(time.perf_counter() - started)
            await asyncio.sleep(0.55)
            started = time.perf_counter()
            await http.get("/api/snapshot")
            snapshot_times.append(time.perf_counter() - started)
        async with http.stream("GET", "/events") as stream:
            lines = stream.aiter_lines()
            event = ""
            while not event.startswith("data: "):
                event = await anext(lines)
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            await connection.fetch(_FLEET_SQL)
            sql_times.append(time.perf_counter() - started)
    finally:
        await connection.close()
    print(f"registrations (GET /registry total): {registry['total']}")
    print(f"page: {len(page.content):,} bytes; one live event: {len(event):,} bytes")
    print(f"GET / (fleet counted again)            {_spread(page_times)}")
    print(f"GET /api/snapshot (fleet counted again) {_spread(snapshot_times)}")
    print(f"fleet query alone (GROUP BY)           {_spread(sql_times)}")
    return ModelBenchFigure(
        what=f"dashboard GET / with {registrations_of(registry)} registrations, fleet counted "
        "again (page and one live event in bytes)",
        measured=f"**{_spread(page_times)}**; page {len(page.content):,} B, event {len(event):,} B",
        baseline=f"the fleet's GROUP BY alone {_spread(sql_times)}",
    )


def registrations_of(registry: dict[str, object]) -> str:
    """The registry's total, with thousands separated."""
    total = registry["total"]
    return f"{total:,}" if isinstance(total, int) else str(total)


async def _browser(dashboard: str, repeats: int, registrations: int) -> list[ModelBenchFigure]:
    paints: list[float] = []
    loads: list[float] = []
    updates: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(repeats):
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                page = await context.new_page()
                await page.goto(dashboard, wait_until="load")
                await page.wait_for_function("() => Number(document.body.dataset.updates) >= 1")
                updated = await page.evaluate("() => performance.now()")
                await page.wait_for_function(
                    "() => performance.getEntriesByName('first-contentful-paint').length > 0"
                )
                timing = await page.evaluate(
                    "() => ({paint: performance.getEntriesByName('first-contentful-paint')[0]"
                    ".startTime, load: performance.getEntriesByType('navigation')[0]"
                    ".loadEventEnd})"
                )
                paints.append(float(timing["paint"]) / 1000)
                loads.append(float(timing["load"]) / 1000)
                updates.append(float(updated) / 1000)
                await context.close()
        finally:
            await browser.close()
    print(f"first contentful paint                 {_spread(paints)}")
    print(f"load event                             {_spread(loads)}")
    print(f"first live update (SSE) seen by        {_spread(updates)}")
    paint = statistics.median(paints)
    return [
        ModelBenchFigure(
            what=f"dashboard first contentful paint, {registrations:,} registrations "
            "(Debian's chromium, fresh context each)",
            measured=f"**{_spread(paints)}**; load event {_spread(loads)}",
            baseline="-",
            target=f"<= {TARGET_PAINT_SECONDS:.0f} s",
            met=paint <= TARGET_PAINT_SECONDS,
        ),
        ModelBenchFigure(
            what="dashboard first live update (SSE) after navigation",
            measured=f"**{_spread(updates)}**",
            baseline="-",
        ),
    ]


async def main(registrations: int, repeats: int) -> None:
    load_before = load_average()
    print(load_line())
    workdir = Path(tempfile.mkdtemp(prefix="onex-bench-dashboard-"))
    server = EmbeddedPostgres(workdir / "pg", fast=True)
    await server.start()
    try:
        await server.create_database("dashboard")
        dsn = server.dsn("dashboard")
        async with _runtime(workdir, dsn) as (hub, dashboard):
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute(_FILL, registrations, list(_STATES))
                await connection.execute("ANALYZE onex_registrations")
            finally:
                await connection.close()
            figures = [await _server(dashboard, hub, dsn, repeats)]
            figures += await _browser(dashboard, repeats, registrations)
    finally:
        await server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(load_line())
    record("bench_dashboard", load_before, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.registrations, arguments.repeats))
