"""The declarative node class of the health recorder."""

from omnibase_infra._core import NodeCompute


class NodeRtHealthRecorderCompute(NodeCompute):  # type: ignore[type-arg]
    """Health recorder: see contract.yaml."""
