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
import tempfile
from pathlib import Path

import asyncpg

from bench_pairs import Call, interleaved
from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres


async def _pair(
    label: str, handler_call: Call, raw_call: Call, calls: int, repeats: int
) -> ModelBenchFigure:
    times = await interleaved(
        [("handler", handler_call), ("asyncpg", raw_call)], calls, repeats, warm=calls // 10
    )
    for name in ("asyncpg", "handler"):
        print(
            f"{label:<28} {name:<8} median {times.median(name):7.1f} µs "
            f"(min {min(times.means[name]):7.1f}, max {max(times.means[name]):7.1f})  "
            f"p50 {times.pct(name, 0.5):7.1f}  p99 {times.pct(name, 0.99):8.1f}"
        )
    ratio_median = times.median("handler") / times.median("asyncpg")
    ratio_p50 = times.pct("handler", 0.5) / times.pct("asyncpg", 0.5)
    print(f"{label:<28} ratio handler/asyncpg: medians {ratio_median:.3f}, p50 {ratio_p50:.3f}\n")
    return ModelBenchFigure(
        what=f"HandlerPostgres {label}, per call",
        measured=f"**{ratio_median:.2f}x** (p50 {ratio_p50:.2f}x)",
        baseline=f"asyncpg pool {times.median('asyncpg'):.1f} µs per call",
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
