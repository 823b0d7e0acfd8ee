"""The dashboard's figures, built at most once per interval however many pages watch.

A snapshot asks the fleet source once (one aggregate query) and reads the metrics registry
once; every page (and every SSE stream) shares it until it is older than half the interval.
Throughput is the change in messages consumed since the previous snapshot, per second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.dashboard.metrics_view import read_metrics
from omnibase_infra.runtime.dashboard.model_dashboard_snapshot import ModelDashboardSnapshot
from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary
from omnibase_infra.runtime.dashboard.protocol_fleet_source import ProtocolFleetSource
from omnibase_infra.sanitize import sanitize_text

__all__ = ["DashboardFeed"]

_log = get_logger(__name__)


class DashboardFeed:
    """Builds and shares snapshots (see module docstring)."""

    def __init__(
        self,
        source: ProtocolFleetSource | None,
        interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._max_age = interval_seconds / 2
        self._clock = clock
        self._lock = asyncio.Lock()
        self._latest: ModelDashboardSnapshot | None = None
        self._built_at = 0.0
        self._fleet: ModelFleetSummary | None = None

    async def snapshot(self) -> ModelDashboardSnapshot:
        """The latest snapshot, built anew when older than half the interval."""
        async with self._lock:  # concurrent viewers wait for one build, not start their own
            now = self._clock()
            if self._latest is None or now - self._built_at >= self._max_age:
                self._latest = await self._build(now)
                self._built_at = now
            return self._latest

    async def _build(self, now: float) -> ModelDashboardSnapshot:
        error = None
        if self._source is not None:
            try:
                self._fleet = await self._source.fleet_summary()
            except Exception as exc:  # the page shows the last figures and why they are old
                error = sanitize_text(f"{type(exc).__name__}: {exc}")
                _log.warning("dashboard could not read the fleet", error=error)
        metrics = read_metrics()
        rates: dict[str, float] = {}
        previous = self._latest
        elapsed = now - self._built_at
        if previous is not None and elapsed > 0:
            for node, total in metrics.messages.items():
                delta = total - previous.messages.get(node, 0)
                rates[node] = round(max(delta, 0) / elapsed, 1)
        return ModelDashboardSnapshot(
            at=datetime.now(UTC),
            fleet=self._fleet,
            fleet_error=error,
            breakers=metrics.breakers,
            lag=tuple(metrics.lag),
            dead_letters=metrics.dead_letters,
            messages=metrics.messages,
            rates=rates,
        )
