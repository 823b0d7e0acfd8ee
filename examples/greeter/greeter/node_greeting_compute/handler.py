"""A name in, the greeting out: pure, no I/O."""

from omnibase_core.models.container.model_onex_container import ModelONEXContainer

from greeter.models import ModelGreet, ModelGreeting
from omnibase_infra.dispatch import DispatchContext, ModelNodeOutput


class HandlerGreeting:
    """Returns the greeting as the node's result; the workflow hands it to the next step."""

    def __init__(self, container: ModelONEXContainer) -> None:
        del container  # a pure step needs no service

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """The greeting for the command's name."""
        command = context.payload
        assert isinstance(command, ModelGreet)
        greeting = ModelGreeting(name=command.name, text=f"Hello, {command.name}!")
        return ModelNodeOutput(result=greeting)
