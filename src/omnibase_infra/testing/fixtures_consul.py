"""pytest fixtures for the fake Consul agent (list this module in ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from omnibase_infra.testing.fake_consul import FakeConsulAgent
from omnibase_infra.testing.manual_clock import ManualClock

__all__ = ["fake_consul", "fake_consul_clock"]


@pytest.fixture
def fake_consul_clock() -> ManualClock:
    """The clock of ``fake_consul``: TTL expiry and reaping happen when the test advances it."""
    return ManualClock()


@pytest_asyncio.fixture
async def fake_consul(fake_consul_clock: ManualClock) -> AsyncIterator[FakeConsulAgent]:
    """A fake Consul agent of the test's own on a free port, without ACLs."""
    async with FakeConsulAgent(clock=fake_consul_clock) as agent:
        yield agent
