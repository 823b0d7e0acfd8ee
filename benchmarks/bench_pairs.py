"""Timing two ways of making the same call, interleaved, for the per-call benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Call = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class PairTimes:
    """Per variant: the mean µs per call of each repeat, and every call's µs."""

    means: dict[str, list[float]]
    samples: dict[str, list[float]]

    def median(self, name: str) -> float:
        """The median over repeats of ``name``'s mean µs per call."""
        return statistics.median(self.means[name])

    def pct(self, name: str, q: float) -> float:
        """The ``q`` quantile of ``name``'s single calls, in µs."""
        return percentile(self.samples[name], q)

    def ratios(self, numerator: str, denominator: str) -> list[float]:
        """Repeat by repeat, ``numerator``'s mean over ``denominator``'s (same repeat)."""
        pairs = zip(self.means[numerator], self.means[denominator], strict=True)
        return [n / d for n, d in pairs]


async def time_calls(call: Call, calls: int) -> tuple[float, list[float]]:
    """Mean µs per call over ``calls`` sequential calls, and each call's µs."""
    each: list[float] = []
    began = time.perf_counter()
    for i in range(calls):
        t0 = time.perf_counter()
        await call(i)
        each.append((time.perf_counter() - t0) * 1e6)
    return (time.perf_counter() - began) * 1e6 / calls, each


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank below) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def interleaved(
    variants: Sequence[tuple[str, Call]], calls: int, repeats: int, *, warm: int
) -> PairTimes:
    """Each variant ``warm`` calls first (connections, caches), then ``repeats`` rounds of
    ``calls`` each, the order reversed every other round so neither always goes first."""
    for _, call in variants:
        await time_calls(call, warm)
    means: dict[str, list[float]] = {name: [] for name, _ in variants}
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for repeat in range(repeats):
        for name, call in variants if repeat % 2 == 0 else list(reversed(variants)):
            mean, each = await time_calls(call, calls)
            means[name].append(mean)
            samples[name].extend(each)
    return PairTimes(means, samples)
