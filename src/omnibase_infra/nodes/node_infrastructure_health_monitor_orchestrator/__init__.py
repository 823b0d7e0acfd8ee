"""The infrastructure health monitor (seed 004): pings, breaker decisions, reconnects, events.

The models are importable without core's node classes; ``monitor.py`` is the component that
runs the schedule, ``plugin.py`` the node plugin that adds it to a runtime.
"""

from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_dependency_health_changed import (  # noqa: E501
    ModelDependencyHealthChanged,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_dependency_probe import (  # noqa: E501
    ModelDependencyProbe,
)
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator.model_health_monitor_settings import (  # noqa: E501
    ModelHealthMonitorSettings,
)

__all__ = [
    "ModelDependencyHealthChanged",
    "ModelDependencyProbe",
    "ModelHealthMonitorSettings",
]
