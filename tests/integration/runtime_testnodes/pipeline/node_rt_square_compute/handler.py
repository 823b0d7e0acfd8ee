"""Squares the value of a start-job command (pure)."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from runtime_testnodes.models import ModelRtSquare, ModelRtStartJob


class HandlerRtSquare:
    """Returns the square as the node's result; publishes nothing."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._container = container

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """The square of the command's value."""
        command = context.payload
        assert isinstance(command, ModelRtStartJob)
        return ModelNodeOutput(result=ModelRtSquare(value=command.value * command.value))
