"""Models of the deployment workflow (one per module)."""

from omnibase_infra.infra_nodes.models.model_deploy_service_requested import (
    ModelDeployServiceRequested,
)
from omnibase_infra.infra_nodes.models.model_deployment_plan import ModelDeploymentPlan
from omnibase_infra.infra_nodes.models.model_service_deployed import ModelServiceDeployed

__all__ = ["ModelDeployServiceRequested", "ModelDeploymentPlan", "ModelServiceDeployed"]
