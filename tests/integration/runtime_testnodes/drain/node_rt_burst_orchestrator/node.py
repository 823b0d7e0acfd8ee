"""The declarative node class of the burst orchestrator."""

from omnibase_infra._core import NodeOrchestrator


class NodeRtBurstOrchestrator(NodeOrchestrator):
    """Burst orchestrator: see contract.yaml."""
