"""List each result the effects test nodes publish in results_seen.txt, one line each:
``<topic> <key> <value> <source>`` for an item, ``<topic> <failed step> <compensated steps>``
for a transfer outcome."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.resilience.compensation.model_compensation_result import (
    ModelCompensationResult,
)
from runtime_testnodes.files import append_lines
from runtime_testnodes.models import ModelRtItem

RESULTS_SEEN_FILE = "results_seen.txt"


class HandlerRtResultAudit:
    """One line per result received."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._container = container

    async def handle(self, context: DispatchContext) -> None:
        """Record the result."""
        result = context.payload
        topic = context.message.topic
        if isinstance(result, ModelRtItem):
            line = f"{topic} {result.key} {result.value} {result.source}"
        else:
            assert isinstance(result, ModelCompensationResult)
            undone = ",".join(result.compensated_steps) or "-"
            line = f"{topic} {result.failed_step or '-'} {undone}"
        await append_lines(RESULTS_SEEN_FILE, [line])
