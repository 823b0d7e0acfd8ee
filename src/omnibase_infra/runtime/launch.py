"""Running the runtime for a config: infrastructure up, host serving until SIGTERM."""

from __future__ import annotations

from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure

__all__ = ["serve_runtime"]


async def serve_runtime(config: ModelRuntimeConfig) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code (0 when everything drained)."""
    async with build_infrastructure(config) as infra:
        host = RuntimeHostProcess(
            config,
            bus=infra.bus,
            handlers=infra.handlers,
            services=infra.services,
            components=infra.components,
        )
        return await host.serve()
