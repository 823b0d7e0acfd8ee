"""The declarative node class of the test apply effect."""

from omnibase_infra._core import NodeEffect


class NodeDeploymentApplyEffect(NodeEffect):  # type: ignore[type-arg]
    """Test effect: see contract.yaml."""
