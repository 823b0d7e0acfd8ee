"""Prometheus metrics of the runtime, on one registry the hub's ``/metrics`` serves.

Each area defines its own metrics next to its code, on ``REGISTRY``; names start with
``onex_``. Label values are low-cardinality names (topic, node, handler, outcome), never ids or
anything a message supplied unchecked. The process's own metrics (CPU, memory, open files,
Python version and garbage collection) keep their standard unprefixed names (``process_*``,
``python_*``) so stock dashboards and alerts work on them.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["REGISTRY", "render_metrics"]

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


def render_metrics() -> bytes:
    """The registry in Prometheus text exposition format."""
    return generate_latest(REGISTRY)
