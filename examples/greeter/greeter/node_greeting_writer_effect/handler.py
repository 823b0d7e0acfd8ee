"""Appends a greeting to the file named by GREETER_OUTPUT (the node's external I/O)."""

import asyncio
import os
from pathlib import Path

from omnibase_core.models.container.model_onex_container import ModelONEXContainer

from greeter.models import ModelGreeted, ModelGreeting
from omnibase_infra.dispatch import DispatchContext, ModelNodeOutput


class HandlerGreetingWriter:
    """One line per greeting; the file is read from the environment once, at start."""

    def __init__(self, container: ModelONEXContainer) -> None:
        del container
        self._path = Path(os.environ.get("GREETER_OUTPUT", "greetings.txt"))

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Write the greeting, then report it written."""
        greeting = context.payload
        assert isinstance(greeting, ModelGreeting)
        # A file write blocks: run it in a thread, never in the event loop.
        await asyncio.to_thread(self._append, f"{greeting.text}\n")
        return ModelNodeOutput(result=ModelGreeted(name=greeting.name, text=greeting.text))

    def _append(self, line: str) -> None:
        with self._path.open("a", encoding="utf-8") as file:
            file.write(line)
