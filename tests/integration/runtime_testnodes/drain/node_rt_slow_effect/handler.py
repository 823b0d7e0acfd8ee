"""Slow work: sleep ``$RTEST_DELAY`` seconds, then list the work id in handled.txt."""

import asyncio
import os

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from runtime_testnodes.files import HANDLED_FILE, append_lines
from runtime_testnodes.models import ModelRtSlowWork


class HandlerRtSlowWork:
    """One slow unit of work per command."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._delay = float(os.environ.get("RTEST_DELAY", "0.05"))

    async def handle(self, context: DispatchContext) -> None:
        """Work, then record that the work was done."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        await asyncio.sleep(self._delay)
        await append_lines(HANDLED_FILE, [str(work.work_id)])
