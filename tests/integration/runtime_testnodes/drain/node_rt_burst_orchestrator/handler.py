"""First runtime tick -> ``$RTEST_BURST`` slow-work commands (later ticks -> nothing)."""

import os

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from runtime_testnodes.files import PUBLISHED_FILE, append_lines
from runtime_testnodes.models import ModelRtSlowWork
from runtime_testnodes.topics import TOPIC_SLOW_WORK


class HandlerRtBurst:
    """Emits the burst once per process and lists it in published.txt."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._count = int(os.environ.get("RTEST_BURST", "20"))
        self._done = False

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """The burst on the first tick, nothing afterwards."""
        if self._done:
            return None
        self._done = True
        work = [ModelRtSlowWork(work_id=i, key=f"k{i % 4}") for i in range(self._count)]
        await append_lines(PUBLISHED_FILE, [str(w.work_id) for w in work])
        return ModelNodeOutput(
            events=tuple(
                ModelOutgoingMessage(topic=TOPIC_SLOW_WORK, payload=w, key=w.key) for w in work
            )
        )
