"""The declarative node class of the test effect."""

from omnibase_infra._core import NodeEffect


class NodeRtRecordEffect(NodeEffect):
    """Test effect: see contract.yaml."""
