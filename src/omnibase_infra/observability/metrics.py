"""Prometheus metrics of the runtime, on one registry the hub's ``/metrics`` serves.

Each area defines its own metrics next to its code, on ``REGISTRY``; names start with
``onex_``. Label values are low-cardinality names (topic, node, handler, outcome), never ids or
anything a message supplied unchecked.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

__all__ = ["REGISTRY", "render_metrics"]

REGISTRY = CollectorRegistry(auto_describe=True)


def render_metrics() -> bytes:
    """The registry in Prometheus text exposition format."""
    return generate_latest(REGISTRY)
