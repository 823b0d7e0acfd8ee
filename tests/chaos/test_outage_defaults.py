"""A PostgreSQL outage on the zero-configuration defaults: in-memory bus, local discovery,
retry settings untouched; held messages are redelivered in place and nothing is lost.

The runtime runs in the test process (the in-memory bus exists only there), started the way
``onex-infra run`` starts it, with PostgreSQL external so the test can stop it. Cost: ~45 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from chaos_harness import inmemory_stack

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

FLEET = 300
RATE = 30.0
OUTAGE_SECONDS = 15.0


async def test_postgres_outage_mid_stream_with_zero_config_defaults_loses_nothing(
    postgres_server: EmbeddedPostgres, chaos_report: Callable[[str], None]
) -> None:
    """PostgreSQL stopped for 15 s mid-stream on the zero-configuration defaults: every node
    ends registered, none lost or duplicated, nothing dead-lettered."""
    async with inmemory_stack(postgres_server) as stack:
        fleet = await stack.fleet(FLEET)
        fleet.start_stream(RATE)
        async with asyncio.timeout(120):
            await fleet.wait_sent_at_least(FLEET // 3)
        await stack.postgres_down()
        await stack.wait_not_ready()
        await asyncio.sleep(OUTAGE_SECONDS)
        recovery = await stack.postgres_up()
        figures = await stack.settle(fleet, recovery_seconds=recovery)
        chaos_report(figures.line("postgres outage 15 s (in-memory defaults)"))
        await fleet.close()
        assert figures.lost == 0, figures
        assert figures.duplicated == 0, figures
        assert figures.rejected == 0, figures
        assert figures.registered == figures.sent == FLEET, figures
