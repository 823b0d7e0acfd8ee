"""The dashboard's figures from the runtime's Prometheus registry (what ``/metrics`` serves).

Read in one pass over ``REGISTRY.collect()`` and aggregated here: breaker state per breaker
(``breaker_name``: dependency and owning node), consumer lag per group and topic (partitions
summed; the largest ``MAX_LAG_ROWS`` kept), dead letters by reason and messages consumed by node.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.breaker.registry import breaker_name
from omnibase_infra.runtime.dashboard.model_dashboard_snapshot import ModelConsumerLag

__all__ = ["MAX_LAG_ROWS", "ModelMetricsView", "read_metrics"]

MAX_LAG_ROWS = 20
_BREAKER_STATES = {0.0: "closed", 1.0: "half_open", 2.0: "open"}


@dataclass
class ModelMetricsView:
    """The registry's figures the dashboard shows."""

    breakers: dict[str, str] = field(default_factory=dict)
    lag: list[ModelConsumerLag] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)


def read_metrics() -> ModelMetricsView:
    """Aggregate the registry now (in memory; the process collector reads ``/proc``)."""
    view = ModelMetricsView()
    lag: dict[tuple[str, str], int] = defaultdict(int)
    dead: dict[str, int] = defaultdict(int)
    messages: dict[str, int] = defaultdict(int)
    for family in REGISTRY.collect():
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "onex_circuit_breaker_state":
                name = breaker_name(labels["dependency"], labels["node"])
                view.breakers[name] = _BREAKER_STATES.get(sample.value, "unknown")
            elif sample.name == "onex_consumer_lag_messages":
                lag[(labels["consumer_group"], labels["topic"])] += int(sample.value)
            elif sample.name == "onex_dispatch_dead_lettered_total":
                dead[labels["reason"]] += int(sample.value)
            elif sample.name == "onex_dispatch_messages_total":
                messages[labels["node"]] += int(sample.value)
    rows = [ModelConsumerLag(consumer_group=g, topic=t, lag=n) for (g, t), n in lag.items()]
    rows.sort(key=lambda row: (-row.lag, row.consumer_group, row.topic))
    view.lag = rows[:MAX_LAG_ROWS]
    view.dead_letters = dict(sorted(dead.items()))
    view.messages = dict(sorted(messages.items()))
    view.breakers = dict(sorted(view.breakers.items()))
    return view
