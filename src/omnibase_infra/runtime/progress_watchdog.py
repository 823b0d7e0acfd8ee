"""Stuck detection: a consumer group that has work waiting on a partition and does not move.

The watchdog samples the bus's consumer positions (committed offset, end, parked message). A
partition is stuck once its group has had lag there and has not committed anything for
``stuck_after_seconds`` (plus a group's own slack: a retry group waits for its messages' due
time by design). A newly stuck partition is an alarm: an error line naming the group, topic,
partition and offset, ``onex_event_bus_stuck_partitions_total`` counts it and the gauge
``onex_event_bus_partitions_stuck`` shows how many are stuck now; ``/ready`` reports them until
they move again. Sampling costs the bus nothing on its hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.model_consumer_position import ModelConsumerPosition
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["CHECK_NAME", "ConsumerProgressWatchdog"]

_log = get_logger(__name__)

CHECK_NAME = "consumer_progress"
_DETAIL_CHARS = 1000

_STUCK_TOTAL = Counter(
    "onex_event_bus_stuck_partitions",
    "Times a consumer group stopped moving on a partition while it had messages waiting.",
    ("topic", "consumer_group"),
    registry=REGISTRY,
)
_STUCK_NOW = Gauge(
    "onex_event_bus_partitions_stuck",
    "Partitions whose consumer group has messages waiting and is not moving, right now.",
    registry=REGISTRY,
)

_Key = tuple[str, str, int]


@dataclass
class _Watch:
    """What the watchdog remembers of one (topic, group, partition)."""

    committed: int
    waiting_since: float | None  # first sample with lag at this committed offset
    stuck: bool = False


class ConsumerProgressWatchdog:
    """Samples consumer positions, raises and clears stuck alarms (see module)."""

    def __init__(
        self,
        bus: EventBusBase,
        *,
        stuck_after_seconds: float,
        slack_seconds: Callable[[str], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._after = stuck_after_seconds
        self._slack = slack_seconds or (lambda _group: 0.0)
        self._clock = clock
        self._watches: dict[_Key, _Watch] = {}
        self._stuck: dict[_Key, tuple[ModelConsumerPosition, float]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def interval_seconds(self) -> float:
        """How often the background loop samples (a fraction of the stuck bound)."""
        return min(max(self._after / 4, 0.2), 5.0)

    async def start(self) -> None:
        """Sample in the background until ``stop``."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="consumer-progress-watchdog")

    async def stop(self) -> None:
        """Stop sampling (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                self.sample()
            except Exception as exc:  # a broken sample must not end stuck detection
                _log.warning("consumer progress sample failed", error=str(exc))

    def sample(self) -> list[tuple[ModelConsumerPosition, float]]:
        """Take one sample; returns the stuck partitions with how long each has waited."""
        now = self._clock()
        seen: set[_Key] = set()
        for position in self._bus.consumer_positions():
            key = (position.topic, position.group_id, position.partition)
            seen.add(key)
            self._observe(key, position, now)
        for key in [k for k in self._watches if k not in seen]:  # group left or rebalanced
            del self._watches[key]
            self._clear(key, None)
        _STUCK_NOW.set(len(self._stuck))
        return list(self._stuck.values())

    def _observe(self, key: _Key, position: ModelConsumerPosition, now: float) -> None:
        watch = self._watches.get(key)
        if watch is None or watch.committed != position.committed or position.lag == 0:
            if watch is not None and watch.stuck:
                self._clear(key, position)
            waiting = now if position.lag > 0 else None
            self._watches[key] = _Watch(position.committed, waiting)
            return
        if watch.waiting_since is None:
            watch.waiting_since = now
        waited = now - watch.waiting_since
        if waited < self._after + self._slack(position.group_id):
            return
        self._stuck[key] = (position, waited)
        if not watch.stuck:
            watch.stuck = True
            _STUCK_TOTAL.labels(position.topic, position.group_id).inc()
            _log.error(
                "consumer stuck",
                topic=position.topic,
                consumer_group=position.group_id,
                partition=position.partition,
                offset=position.committed,
                lag=position.lag,
                parked=position.parked_offset is not None,
                seconds=round(waited, 1),
            )

    def _clear(self, key: _Key, position: ModelConsumerPosition | None) -> None:
        if self._stuck.pop(key, None) is not None:
            topic, group, partition = key
            _log.warning(
                "consumer moving again",
                topic=topic,
                consumer_group=group,
                partition=partition,
                offset=None if position is None else position.committed,
            )

    def check(self) -> ModelHealthCheckResult:
        """The readiness check: healthy unless a partition is stuck (named in the detail)."""
        started = time.perf_counter()
        stuck = self.sample()
        latency = (time.perf_counter() - started) * 1000
        if not stuck:
            return ModelHealthCheckResult(name=CHECK_NAME, healthy=True, latency_ms=latency)
        parts = [_describe(position, waited) for position, waited in stuck]
        return ModelHealthCheckResult(
            name=CHECK_NAME,
            healthy=False,
            latency_ms=latency,
            detail=("; ".join(parts))[:_DETAIL_CHARS],
        )


def _describe(position: ModelConsumerPosition, waited: float) -> str:
    parked = (
        f", parked at offset {position.parked_offset}" if position.parked_offset is not None else ""
    )
    return (
        f"group {position.group_id} stuck on {position.topic} partition {position.partition} "
        f"at offset {position.committed} with {position.lag} waiting for {waited:.0f} s{parked}"
    )
