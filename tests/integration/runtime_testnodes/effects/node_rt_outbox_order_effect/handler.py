"""Record the order through the runtime's outbox transaction; the result is its event."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.runtime.effect_outbox import outbox_transaction
from runtime_testnodes.models import ModelRtItem, ModelRtSlowWork


class HandlerRtOutboxOrder:
    """One row in ``rtest_orders`` and one order-placed event, committed together."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._container = container

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Insert the order; fail afterwards for a key starting with ``fail``."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        await outbox_transaction().execute("INSERT INTO rtest_orders (key) VALUES ($1)", work.key)
        if work.key.startswith("fail"):
            raise RuntimeHostError(f"order {work.key} refused after its write", retriable=False)
        return ModelNodeOutput(result=ModelRtItem(key=work.key, value="placed", source="outbox"))
