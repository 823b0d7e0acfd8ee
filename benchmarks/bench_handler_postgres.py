"""Per-call cost of HandlerPostgres against a bare asyncpg pool on the same server (not a test).

    .venv/bin/python benchmarks/bench_handler_postgres.py [--calls 3000] [--repeats 7]

Starts an embedded PostgreSQL (fsync off) on a free port, opens a ``HandlerPostgres`` and a bare
``asyncpg`` pool of the same size on one database, then times, interleaved (every repeat runs
both variants of a pair, alternating which goes first):

- ``SELECT $1::int`` through ``fetchval``;
- a parameterised ``INSERT`` through ``execute``;
- a two-statement transaction (``transaction()`` vs ``pool.acquire()`` + ``transaction()``).

Prints, per variant, the median per-call time over repeats with min-max, p50/p99 of individually
timed calls, and the handler/baseline ratios of the medians and of the p50s (the p50 is the
steadier figure on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres

Call = Callable[[int], Awaitable[object]]


async def _time(call: Call, calls: int) -> tuple[float, list[float]]:
    """Mean µs per call over ``calls`` sequential calls, and each call's µs."""
    each: list[float] = []
    began = time.perf_counter()
    for i in range(calls):
        t0 = time.perf_counter()
        await call(i)
        each.append((time.perf_counter() - t0) * 1e6)
    return (time.perf_counter() - began) * 1e6 / calls, each


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _pair(
    label: str, handler_call: Call, raw_call: Call, calls: int, repeats: int
) -> ModelBenchFigure:
    means: dict[str, list[float]] = {"handler": [], "asyncpg": []}
    samples: dict[str, list[float]] = {"handler": [], "asyncpg": []}
    variants = [("handler", handler_call), ("asyncpg", raw_call)]
    await _time(handler_call, calls // 10)  # warm both: statement caches, pool connections
    await _time(raw_call, calls // 10)
    for repeat in range(repeats):
        for name, call in variants if repeat % 2 == 0 else reversed(variants):
            mean, each = await _time(call, calls)
            means[name].append(mean)
            samples[name].extend(each)
    medians = {name: statistics.median(values) for name, values in means.items()}
    for name in ("asyncpg", "handler"):
        print(
            f"{label:<28} {name:<8} median {medians[name]:7.1f} µs "
            f"(min {min(means[name]):7.1f}, max {max(means[name]):7.1f})  "
            f"p50 {_pct(samples[name], 0.5):7.1f}  p99 {_pct(samples[name], 0.99):8.1f}"
        )
    p50 = {name: _pct(values, 0.5) for name, values in samples.items()}
    ratio_median = medians["handler"] / medians["asyncpg"]
    ratio_p50 = p50["handler"] / p50["asyncpg"]
    print(f"{label:<28} ratio handler/asyncpg: medians {ratio_median:.3f}, p50 {ratio_p50:.3f}\n")
    return ModelBenchFigure(
        what=f"HandlerPostgres {label}, per call",
        measured=f"**{ratio_median:.2f}x** (p50 {ratio_p50:.2f}x)",
        baseline=f"asyncpg pool {medians['asyncpg']:.1f} µs per call",
    )


async def main(calls: int, repeats: int) -> None:
    """Start PostgreSQL, time the handler against a bare pool, record the figures."""
    load_before = load_average()
    print(f"before: {load_line()}")
    base_dir = Path(tempfile.mkdtemp(prefix="onex-pg-bench-"))
    server = EmbeddedPostgres(base_dir, fast=True)
    await server.start()
    try:
        await server.create_database("bench")
        handler = HandlerPostgres(server.settings("bench", pool_min_size=4, pool_max_size=4))
        await handler.start()
        pool = await asyncpg.create_pool(server.dsn("bench"), min_size=4, max_size=4)
        try:
            await pool.execute(
                "CREATE TABLE h (id bigint, v text); CREATE TABLE r (id bigint, v text)"
            )

            async def h_select(i: int) -> object:
                return await handler.fetchval("SELECT $1::int", i)

            async def r_select(i: int) -> object:
                return await pool.fetchval("SELECT $1::int", i)

            async def h_insert(i: int) -> object:
                return await handler.execute("INSERT INTO h VALUES ($1, $2)", i, "x")

            async def r_insert(i: int) -> object:
                return await pool.execute("INSERT INTO r VALUES ($1, $2)", i, "x")

            async def h_tx(i: int) -> object:
                async with handler.transaction() as tx:
                    await tx.execute("INSERT INTO h VALUES ($1, $2)", i, "t")
                    return await tx.fetchval("SELECT $1::int", i)

            async def r_tx(i: int) -> object:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("INSERT INTO r VALUES ($1, $2)", i, "t")
                    return await conn.fetchval("SELECT $1::int", i)

            print(f"calls per repeat: {calls}, repeats: {repeats} (interleaved)\n")
            figures = [
                await _pair("fetchval SELECT $1", h_select, r_select, calls, repeats),
                await _pair("execute INSERT", h_insert, r_insert, calls, repeats),
                await _pair("transaction (2 statements)", h_tx, r_tx, calls, repeats),
            ]
        finally:
            await pool.close()
            await handler.close()
    finally:
        await server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)
    print(f"after: {load_line()}")
    record("bench_handler_postgres", load_before, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.repeats))
