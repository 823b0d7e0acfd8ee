"""Success-path overhead of the resilience layer against a bare ``await`` (not a test).

    .venv/bin/python benchmarks/bench_resilience.py [--calls 20000] [--repeats 7]
        [--libs /tmp/venv/lib/python3.12/site-packages]

Every variant awaits the same coroutine function; the bare ``await`` of it is the baseline,
measured in the same run. Variants run interleaved (every repeat runs each variant once, in a
rotating order) and each repeat reports per-call time; the table shows the median over repeats
with min-max, the overhead over the bare await of the same repeat, the ratio, and p50/p99 of
individually timed calls. Libraries a user would otherwise pick (circuitbreaker, aiobreaker,
tenacity, backoff) are measured when importable, e.g. from a /tmp venv passed with ``--libs``;
they are never dependencies of the project.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.resilience import (
    AsyncCircuitBreaker,
    DeadlineWatchdog,
    EffectExecutor,
    MixinAsyncCircuitBreaker,
    ModelEffectPolicy,
    RetryPolicy,
)

Call = Callable[[int], Awaitable[object]]

TARGETS_US = {
    "breaker (AsyncCircuitBreaker.call)": 1.0,
    "retry (EffectExecutor, retry only)": 1.0,
    "breaker + failure-rate window": 1.0,
    "timeout+retry+breaker (from_policy)": 5.0,
}


async def work(value: int) -> int:
    """The guarded operation: a coroutine that completes at once."""
    return value


class _DocumentedAdapter(MixinAsyncCircuitBreaker):
    """The coding rules' caller-held-lock pattern, for comparison with the fast path."""

    def __init__(self) -> None:
        self._init_circuit_breaker(
            threshold=5,
            reset_timeout=30.0,
            service_name="bench-documented",
            transport_type=EnumInfraTransportType.HTTP,
        )

    async def guarded(self, value: int) -> int:
        async with self._circuit_breaker_lock:
            await self._check_circuit_breaker("work", None)
        try:
            result = await work(value)
        except Exception:
            async with self._circuit_breaker_lock:
                await self._record_circuit_failure("work", None)
            raise
        async with self._circuit_breaker_lock:
            await self._reset_circuit_breaker()
        return result


def _ours() -> dict[str, Call]:
    breaker = AsyncCircuitBreaker("bench-breaker", EnumInfraTransportType.HTTP)
    windowed = AsyncCircuitBreaker(
        "bench-breaker-window", EnumInfraTransportType.HTTP, failure_rate_threshold=0.5
    )
    retry_only = EffectExecutor("bench.retry", retry=RetryPolicy(max_attempts=4))
    watchdog = DeadlineWatchdog(10.0, operation="work")
    composed = EffectExecutor.from_policy(
        "bench.composed",
        ModelEffectPolicy.model_validate({"idempotency": {"enabled": False}}),
    )
    documented = _DocumentedAdapter()

    # Lambdas, not wrapper coroutines: the wrapper adds no coroutine frame of its own, so
    # what is measured is the layer itself (libraries below are called the same way).
    async def via_asyncio_timeout(i: int) -> object:
        async with asyncio.timeout(10.0):
            return await work(i)

    return {
        "breaker (AsyncCircuitBreaker.call)": lambda i: breaker.call(work, i),
        "breaker + failure-rate window": lambda i: windowed.call(work, i),
        "breaker, documented lock API": documented.guarded,
        "retry (EffectExecutor, retry only)": lambda i: retry_only.call(work, i),
        "timeout (DeadlineWatchdog)": lambda i: watchdog.call(work, i),
        "timeout (asyncio.timeout, reference)": via_asyncio_timeout,
        "timeout+retry+breaker (from_policy)": lambda i: composed.call(work, i),
    }


def _libraries() -> tuple[dict[str, Call], list[str]]:
    """The alternatives a user would pick, when importable; names of the missing ones."""
    found: dict[str, Call] = {}
    missing: list[str] = []
    try:
        import circuitbreaker

        cb = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=30)
        found[f"circuitbreaker {_version('circuitbreaker')}"] = cb(work)
    except ImportError:
        missing.append("circuitbreaker")
    try:
        import aiobreaker

        ab = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=30))

        found[f"aiobreaker {_version('aiobreaker')}"] = lambda i: ab.call_async(work, i)
    except ImportError:
        missing.append("aiobreaker")
    try:
        import tenacity

        found[f"tenacity {_version('tenacity')}"] = tenacity.retry(
            stop=tenacity.stop_after_attempt(4),
            wait=tenacity.wait_exponential_jitter(initial=1, max=60),
        )(work)
    except ImportError:
        missing.append("tenacity")
    try:
        import backoff

        found[f"backoff {_version('backoff')}"] = backoff.on_exception(
            backoff.expo, Exception, max_tries=4
        )(work)
    except ImportError:
        missing.append("backoff")
    return found, missing


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


async def _loop_time(call: Call, calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back awaits."""
    start = time.perf_counter()
    for i in range(calls):
        await call(i)
    return (time.perf_counter() - start) / calls


async def _latencies(call: Call, calls: int) -> list[float]:
    """Individually timed calls, in seconds (includes the timer's own cost, as for bare)."""
    clock = time.perf_counter_ns
    samples = []
    for i in range(calls):
        start = clock()
        await call(i)
        samples.append((clock() - start) / 1e9)
    return samples


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(calls: int, repeats: int, variants: dict[str, Call]) -> list[ModelBenchFigure]:
    names = ["bare await", *variants]
    table: dict[str, Call] = {"bare await": work, **variants}
    per_call: dict[str, list[float]] = {n: [] for n in names}
    overhead: dict[str, list[float]] = {n: [] for n in names}
    latency: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm-up: caches, lazy imports, first-call costs
        await _loop_time(table[name], 2000)
    gc.disable()  # a collection landing in one variant's slot would be noise, not overhead
    try:
        for repeat in range(repeats):
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            this_round: dict[str, float] = {}
            for name in order:
                this_round[name] = await _loop_time(table[name], calls)
                latency[name].extend(await _latencies(table[name], calls // 4))
            for name in names:
                per_call[name].append(this_round[name])
                overhead[name].append(this_round[name] - this_round["bare await"])
            gc.collect()
    finally:
        gc.enable()

    us = 1e6
    header = (
        f"{'variant':<40} {'per call us':>18} {'overhead us':>20} {'ratio':>6}"
        f" {'p50 us':>7} {'p99 us':>7} {'target':>8}"
    )
    print(header)
    print("-" * len(header))
    bare_median = statistics.median(per_call["bare await"])
    for name in names:
        pc = per_call[name]
        oh = overhead[name]
        target = TARGETS_US.get(name)
        verdict = ""
        if target is not None:
            verdict = f"<={target:g} " + ("ok" if statistics.median(oh) * us <= target else "MISS")
        print(
            f"{name:<40} {statistics.median(pc) * us:7.3f} ({min(pc) * us:.3f}-{max(pc) * us:.3f})"
            f" {statistics.median(oh) * us:8.3f} ({min(oh) * us:.3f}-{max(oh) * us:.3f})"
            f" {statistics.median(pc) / bare_median:6.1f}"
            f" {_pct(latency[name], 0.5) * us:7.3f} {_pct(latency[name], 0.99) * us:7.3f}"
            f" {verdict:>8}"
        )
    return [
        ModelBenchFigure(
            what=f"{name}: overhead per call",
            measured=f"**{statistics.median(overhead[name]) * us:.2f} µs** "
            f"({min(overhead[name]) * us:.2f}-{max(overhead[name]) * us:.2f})",
            baseline=f"bare await {bare_median * us:.3f} µs",
            target=f"<= {target:g} µs",
            met=statistics.median(overhead[name]) * us <= target,
        )
        for name, target in TARGETS_US.items()
        if name in overhead
    ]


def main() -> None:
    """Parse arguments, collect the variants, run the interleaved measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="awaits per variant per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--libs", action="append", default=[], help="extra site-packages with the libraries"
    )
    args = parser.parse_args()
    # Appended, not prepended: the project's own pinned packages always win.
    sys.path.extend(args.libs)
    variants = _ours()
    libraries, missing = _libraries()
    variants.update(libraries)
    load_before = load_average()
    print(f"before: {load_line()}")
    print(
        f"python {sys.version.split()[0]}, {args.calls} calls x {args.repeats} repeats, "
        "interleaved; medians (min-max) over repeats; overhead = variant - bare in the same repeat"
    )
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} (pass --libs <site-packages>)")
    figures = asyncio.run(_run(args.calls, args.repeats, variants))
    print(f"after: {load_line()}")
    record("bench_resilience", load_before, figures)


if __name__ == "__main__":
    main()
