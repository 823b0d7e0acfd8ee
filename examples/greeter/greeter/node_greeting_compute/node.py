"""The greeting compute's node class: declarative, everything is in contract.yaml."""

from omnibase_core.nodes import NodeCompute


class NodeGreetingCompute(NodeCompute):  # type: ignore[type-arg]
    """Makes greeting texts (see contract.yaml)."""
