"""Running the runtime for a config: infrastructure up, host serving until SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

import uvloop

from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure

__all__ = ["run_event_loop", "serve_runtime"]


def run_event_loop[T](main: Coroutine[object, object, T]) -> T:
    """Run ``main`` to completion on uvloop, the runtime's event loop.

    The runtime's hot paths are callback-heavy (bus deliveries, database round trips); uvloop
    runs them with a fraction of the standard loop's overhead and asyncpg is built for it.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def serve_runtime(config: ModelRuntimeConfig) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code (0 when everything drained)."""
    async with build_infrastructure(config) as infra:
        host = RuntimeHostProcess(
            config,
            bus=infra.bus,
            handlers=infra.handlers,
            services=infra.services,
            components=infra.components,
            exclude_nodes=infra.exclude_nodes,
        )
        return await host.serve()
