"""Consumer lag as a Prometheus gauge, read from the live buses when ``/metrics`` is scraped.

Every bus registers itself here when built (a weak reference: a closed, dropped bus leaves by
itself). A scrape asks each for its consumer positions (``consumer_positions``: in memory,
no I/O) and exports ``onex_consumer_lag_messages`` per topic, consumer group and partition.
Nothing is counted per message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from weakref import WeakSet

from prometheus_client import Metric
from prometheus_client.core import GaugeMetricFamily

from omnibase_infra.event_bus.model_consumer_position import ModelConsumerPosition
from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["ConsumerLagCollector", "ProtocolHasConsumerPositions", "track_consumer_positions"]

_NAME = "onex_consumer_lag_messages"
_HELP = "Messages a consumer group has yet to take, by topic, consumer group and partition."
_LABELS = ("topic", "consumer_group", "partition")


class ProtocolHasConsumerPositions(Protocol):
    """What the collector reads from a bus."""

    def consumer_positions(self) -> list[ModelConsumerPosition]:
        """Where each consumer group of the bus stands on each partition it holds."""
        ...


class ConsumerLagCollector:
    """Collects the lag of every tracked bus (the largest when two report the same place)."""

    def __init__(self) -> None:
        self._buses: WeakSet[ProtocolHasConsumerPositions] = WeakSet()

    def track(self, bus: ProtocolHasConsumerPositions) -> None:
        """Include ``bus`` in every scrape while it lives."""
        self._buses.add(bus)

    def describe(self) -> Iterator[Metric]:
        """The family without samples."""
        yield GaugeMetricFamily(_NAME, _HELP, labels=_LABELS)

    def collect(self) -> Iterator[Metric]:
        """One sample per topic, consumer group and partition held by a live bus."""
        lags: dict[tuple[str, str, str], int] = {}
        for bus in list(self._buses):
            for position in bus.consumer_positions():
                key = (position.topic, position.group_id, str(position.partition))
                lags[key] = max(lags.get(key, 0), position.lag)
        family = GaugeMetricFamily(_NAME, _HELP, labels=_LABELS)
        for labels, lag in sorted(lags.items()):
            family.add_metric(list(labels), lag)
        yield family


_COLLECTOR = ConsumerLagCollector()
REGISTRY.register(_COLLECTOR)


def track_consumer_positions(bus: ProtocolHasConsumerPositions) -> None:
    """Export the consumer lag of ``bus`` while it lives."""
    _COLLECTOR.track(bus)
