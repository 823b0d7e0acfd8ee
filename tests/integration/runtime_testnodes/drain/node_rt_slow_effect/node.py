"""The declarative node class of the slow effect."""

from omnibase_infra._core import NodeEffect


class NodeRtSlowEffect(NodeEffect):
    """Slow effect: see contract.yaml."""
