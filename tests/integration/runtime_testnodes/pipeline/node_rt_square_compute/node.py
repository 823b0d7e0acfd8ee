"""The declarative node class of the test compute."""

from omnibase_infra._core import NodeCompute


class NodeRtSquareCompute(NodeCompute):  # type: ignore[type-arg]
    """Test compute: see contract.yaml."""
