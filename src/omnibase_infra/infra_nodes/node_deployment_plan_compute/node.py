"""The declarative node class of the deployment plan compute."""

from omnibase_infra._core import NodeCompute


class NodeDeploymentPlanCompute(NodeCompute):  # type: ignore[type-arg]
    """Plans deployments: see contract.yaml."""
