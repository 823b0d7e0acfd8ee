"""Runtime components the host starts with it: migrations and the runtime's clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from omnibase_infra.event_bus.codec import new_envelope
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.migrations.runner import apply_migrations
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.plugins.model_runtime_tick import TOPIC_RUNTIME_TICK, ModelRuntimeTick
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["DEFAULT_TICK_SECONDS", "MigrationsComponent", "RuntimeTicker"]

# The clock's interval when no node plugin asks for another.
DEFAULT_TICK_SECONDS = 5.0

_log = get_logger(__name__)


class MigrationsComponent:
    """Applies the package's SQL migrations before any node handles a message."""

    def __init__(self, postgres: HandlerPostgres) -> None:
        self._postgres = postgres

    @property
    def name(self) -> str:
        """``migrations``."""
        return "migrations"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Apply pending migrations (idempotent, safe with concurrent starters)."""
        await apply_migrations(self._postgres)

    async def stop(self) -> None:
        """Nothing to stop."""


class RuntimeTicker:
    """Publishes a runtime tick every ``interval`` seconds (the clock of deadline checks).

    Always started; its interval is the shortest a node plugin asks for (its build's
    ``tick_interval_seconds``).

    Ticks go through the bus like any event, so with several runtimes in one consumer group
    each tick is handled once, by whichever instance owns its partition.
    """

    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """``ticker``."""
        return "ticker"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Start ticking."""
        self._task = asyncio.create_task(self._run(host), name="runtime-ticker")

    async def _run(self, host: ProtocolComponentHost) -> None:
        while True:
            await asyncio.sleep(self._interval)
            tick = ModelRuntimeTick(now=datetime.now(UTC))
            envelope = new_envelope(tick, correlation_id=None, producer="runtime")
            try:
                await host.bus.publish_envelope(envelope, TOPIC_RUNTIME_TICK)
            except Exception as exc:  # a missed tick is harmless; the next one catches up
                _log.warning("runtime tick not published", error=str(exc))

    async def stop(self) -> None:
        """Stop ticking."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
