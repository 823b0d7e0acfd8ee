"""Models shared across the package (one concept per module)."""

from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.models.model_node_identity import ModelNodeIdentity
from omnibase_infra.models.model_readiness_report import ModelReadinessReport

__all__ = [
    "ModelHealthCheckResult",
    "ModelInfraErrorContext",
    "ModelNodeIdentity",
    "ModelReadinessReport",
]
