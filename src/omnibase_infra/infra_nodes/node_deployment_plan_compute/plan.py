"""The deployment plan: a pure function of the request."""

from __future__ import annotations

from omnibase_infra.infra_nodes.models import ModelDeploymentPlan, ModelDeployServiceRequested

__all__ = ["MAX_BATCH", "plan_deployment"]

MAX_BATCH = 3  # instances replaced at once in a rolling deployment


def plan_deployment(request: ModelDeployServiceRequested) -> ModelDeploymentPlan:
    """One instance is recreated; more roll out in batches of at most ``MAX_BATCH``."""
    full, rest = divmod(request.replicas, MAX_BATCH)
    batches = (MAX_BATCH,) * full + ((rest,) if rest else ())
    return ModelDeploymentPlan(
        deployment_id=request.deployment_id,
        service=request.service,
        version=request.version,
        environment=request.environment,
        replicas=request.replicas,
        strategy="recreate" if request.replicas == 1 else "rolling",
        batches=batches,
    )
