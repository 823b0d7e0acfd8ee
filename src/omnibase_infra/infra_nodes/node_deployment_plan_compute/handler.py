"""The plan compute's handler: the request in, the plan as the node's result."""

from __future__ import annotations

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.infra_nodes.models import ModelDeployServiceRequested
from omnibase_infra.infra_nodes.node_deployment_plan_compute.plan import plan_deployment

__all__ = ["HandlerDeploymentPlan"]


class HandlerDeploymentPlan:
    """Pure: returns the plan; publishes nothing (the orchestrator does)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        del container  # needs no service

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """The plan of the request the workflow hands in."""
        request = context.payload
        if not isinstance(request, ModelDeployServiceRequested):
            raise EnvelopeValidationError("the plan step takes a ModelDeployServiceRequested")
        return ModelNodeOutput(result=plan_deployment(request))
