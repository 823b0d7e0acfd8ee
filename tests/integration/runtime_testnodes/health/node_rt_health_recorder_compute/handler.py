"""Each health-changed event -> one JSON line in ``$RTEST_OUT/health.txt``."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator import (
    ModelDependencyHealthChanged,
)
from runtime_testnodes.files import append_lines

HEALTH_FILE = "health.txt"


class HandlerRtHealthRecorder:
    """Appends the event it is handed; returns nothing."""

    def __init__(self, container: ModelONEXContainer) -> None:
        del container

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Record the event."""
        event = ModelDependencyHealthChanged.model_validate(context.payload)
        await append_lines(HEALTH_FILE, [event.model_dump_json()])
        return None
