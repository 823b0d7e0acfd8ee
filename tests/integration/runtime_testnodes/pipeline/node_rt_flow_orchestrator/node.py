"""The declarative node class of the test orchestrator."""

from omnibase_infra._core import NodeOrchestrator


class NodeRtFlowOrchestrator(NodeOrchestrator):
    """Test orchestrator: see contract.yaml."""
