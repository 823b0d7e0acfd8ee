"""Applies a plan: every instance ready, except for the services a test names to misbehave."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import InfraConnectionError
from omnibase_infra.infra_nodes.models import ModelDeploymentPlan, ModelServiceDeployed


class HandlerRtDeploymentApply:
    """``broken-*`` services: the target refuses; ``flaky-*``: one instance is not ready."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self.applied: list[ModelDeploymentPlan] = []

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """The outcome of applying the plan."""
        plan = context.payload
        assert isinstance(plan, ModelDeploymentPlan)
        if plan.service.startswith("broken-"):
            raise InfraConnectionError(f"deployment target refused {plan.service}")
        ready = plan.replicas - 1 if plan.service.startswith("flaky-") else plan.replicas
        return ModelNodeOutput(
            result=ModelServiceDeployed(
                deployment_id=plan.deployment_id,
                service=plan.service,
                version=plan.version,
                environment=plan.environment,
                replicas_ready=ready,
                healthy=ready == plan.replicas,
            )
        )
