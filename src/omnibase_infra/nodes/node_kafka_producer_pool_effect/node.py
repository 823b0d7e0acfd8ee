"""``NodeKafkaProducerPoolEffect``: the declarative node class; its behaviour is its contract.

The runtime executes the contract through ``pool.KafkaProducerPool``; this class is what core's
tooling and container see, and it stays a thin subclass of core's archetype.
"""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodeKafkaProducerPoolEffect"]


class NodeKafkaProducerPoolEffect(NodeEffect):
    """node kafka producer pool effect: see contract.yaml."""
