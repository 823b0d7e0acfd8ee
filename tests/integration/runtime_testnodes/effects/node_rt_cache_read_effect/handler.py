"""Read ``rtest:item:<key>`` from the runtime's HandlerValkey."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.valkey.handler_valkey import HandlerValkey
from runtime_testnodes.models import ModelRtItem, ModelRtSlowWork


class HandlerRtCacheRead:
    """The cached value of the command's key (empty when not cached)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._valkey = container.get_service(HandlerValkey)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Read the key from Valkey."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        value = await self._valkey.get(f"rtest:item:{work.key}")
        text = "" if value is None else value.decode()
        return ModelNodeOutput(result=ModelRtItem(key=work.key, value=text, source="cache"))
