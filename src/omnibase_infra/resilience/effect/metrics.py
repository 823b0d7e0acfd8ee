"""Counters of the effect executors, exported to Prometheus at scrape time.

A ``prometheus_client.Counter`` takes a lock on every ``inc()``: fine for failures, too slow to
count every call of a path whose whole budget is one microsecond. Executors therefore count
into plain integer fields of an ``EffectStats`` shared by every executor of the same effect
(the event loop's thread is the only writer), and one collector on ``REGISTRY`` reads them when
``/metrics`` is scraped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["EffectStats", "effect_stats"]


class EffectStats:
    """Monotonic counters of one effect (by name), summed over its executors."""

    __slots__ = (
        "auth_refreshes",
        "calls",
        "degraded",
        "extra_attempts",
        "failures",
        "rejected",
        "replayed",
        "retries",
        "timeouts",
    )

    def __init__(self) -> None:
        self.calls = 0  # calls started
        self.extra_attempts = 0  # attempts after the first (retries and post-refresh retries)
        self.retries = 0
        self.failures = 0  # calls that ended in an error
        self.timeouts = 0
        self.rejected = 0  # attempts refused by an open circuit
        self.degraded = 0
        self.replayed = 0
        self.auth_refreshes = 0


_STATS: dict[str, EffectStats] = {}
_STATS_LOCK = threading.Lock()

_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("calls", "onex_effect_calls", "Effect calls started, by effect."),
    ("retries", "onex_effect_retries", "Retries (attempts after a failed one), by effect."),
    ("failures", "onex_effect_failures", "Effect calls that ended in an error, by effect."),
    ("timeouts", "onex_effect_timeouts", "Attempts that timed out, by effect."),
    ("rejected", "onex_effect_rejected", "Attempts refused by an open circuit, by effect."),
    ("degraded", "onex_effect_degraded", "Calls answered by the declared fallback, by effect."),
    ("replayed", "onex_effect_replayed", "Duplicates answered from the idempotency store."),
    ("auth_refreshes", "onex_effect_credential_refreshes", "Credential refreshes, by effect."),
)


def effect_stats(name: str) -> EffectStats:
    """The shared counters of the effect ``name`` (created on first use)."""
    stats = _STATS.get(name)
    if stats is None:
        with _STATS_LOCK:
            stats = _STATS.setdefault(name, EffectStats())
    return stats


class _EffectCollector(Collector):
    """Turns every ``EffectStats`` into counter samples labelled by effect."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        with _STATS_LOCK:
            items = sorted(_STATS.items())
        attempts = CounterMetricFamily(
            "onex_effect_attempts",
            "Attempts made (first attempts plus retries).",
            labels=["effect"],
        )
        for name, stats in items:
            attempts.add_metric([name], stats.calls + stats.extra_attempts)
        yield attempts
        for field, metric, documentation in _FAMILIES:
            family = CounterMetricFamily(metric, documentation, labels=["effect"])
            for name, stats in items:
                family.add_metric([name], getattr(stats, field))
            yield family


REGISTRY.register(_EffectCollector())
