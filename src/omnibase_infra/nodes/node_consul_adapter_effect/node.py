"""``NodeConsulAdapterEffect``: the declarative node class; its behaviour is its contract.yaml."""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodeConsulAdapterEffect"]


class NodeConsulAdapterEffect(NodeEffect):
    """Consul adapter effect: see contract.yaml."""
