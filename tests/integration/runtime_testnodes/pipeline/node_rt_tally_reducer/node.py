"""The declarative node class of the test reducer."""

from omnibase_infra._core import NodeReducer


class NodeRtTallyReducer(NodeReducer):  # type: ignore[type-arg]
    """Test reducer: see contract.yaml."""
