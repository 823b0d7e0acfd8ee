"""``NodePostgresAdapterEffect``: the declarative node class; its behaviour is its contract.yaml.

The runtime executes the contract directly (see ``handler``); this class is what core's tooling
and container see, and it stays a thin subclass of core's archetype.
"""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodePostgresAdapterEffect"]


class NodePostgresAdapterEffect(NodeEffect):
    """PostgreSQL adapter effect: see contract.yaml."""
