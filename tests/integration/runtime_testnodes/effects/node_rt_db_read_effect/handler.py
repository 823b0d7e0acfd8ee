"""Read an item from ``rtest_items`` through the runtime's HandlerPostgres."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from runtime_testnodes.models import ModelRtItem, ModelRtSlowWork


class HandlerRtDbRead:
    """The stored value of the command's key (empty when there is none)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._postgres = container.get_service(HandlerPostgres)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Read the key from PostgreSQL."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        value = await self._postgres.fetchval(
            "SELECT value FROM rtest_items WHERE key = $1", work.key
        )
        text = "" if value is None else str(value)
        return ModelNodeOutput(result=ModelRtItem(key=work.key, value=text, source="db"))
