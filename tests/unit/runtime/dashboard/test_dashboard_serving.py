"""The dashboard's feed and HTTP API: one fleet read per interval however many pages ask, the
last figures kept (and why) when the fleet cannot be read, the page complete at first paint
behind a strict CSP, the live stream's events, its viewer bound and its end at stop."""

from __future__ import annotations

import asyncio
import json

import httpx

from omnibase_infra.runtime.dashboard.app import create_dashboard_app
from omnibase_infra.runtime.dashboard.feed import DashboardFeed
from omnibase_infra.runtime.dashboard.model_dashboard_settings import ModelDashboardSettings
from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary
from omnibase_infra.runtime.http.server import HubServer
from omnibase_infra.testing import ManualClock


class _Source:
    """A fleet source that counts its reads and fails when told to."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    async def fleet_summary(self) -> ModelFleetSummary:
        self.reads += 1
        await asyncio.sleep(0)  # concurrent callers overlap here
        if self.fail:
            raise ConnectionError("password=hunter2 refused")
        return ModelFleetSummary(total=self.reads, by_state={"active": self.reads})


async def test_feed_reads_the_fleet_once_per_interval_for_every_viewer() -> None:
    """Twenty concurrent viewers share one read; a read is made again after half the interval."""
    source, clock = _Source(), ManualClock()
    feed = DashboardFeed(source, interval_seconds=1.0, clock=clock)
    snapshots = await asyncio.gather(*(feed.snapshot() for _ in range(20)))
    assert source.reads == 1
    assert {s.fleet.total for s in snapshots if s.fleet} == {1}
    clock.advance(0.5)
    assert (await feed.snapshot()).fleet == ModelFleetSummary(total=2, by_state={"active": 2})


async def test_feed_keeps_the_last_fleet_and_says_why_when_a_read_fails() -> None:
    """A failed read keeps the previous figures and reports the error without its secret."""
    source, clock = _Source(), ManualClock()
    feed = DashboardFeed(source, interval_seconds=1.0, clock=clock)
    first = await feed.snapshot()
    source.fail = True
    clock.advance(1.0)
    failed = await feed.snapshot()
    assert failed.fleet == first.fleet
    assert failed.fleet_error is not None
    assert "ConnectionError" in failed.fleet_error
    assert "hunter2" not in failed.fleet_error


async def test_page_stream_viewer_bound_and_stop() -> None:
    """``/`` is the whole page with the figures and a strict CSP; ``/events`` sends snapshot
    events; a viewer beyond ``max_viewers`` gets 503; stopping ends the open stream."""
    settings = ModelDashboardSettings(port=0, interval_seconds=0.1, max_viewers=1)
    stopping = asyncio.Event()
    feed = DashboardFeed(_Source(), settings.interval_seconds)
    server = HubServer(create_dashboard_app(feed, [], settings, stopping), port=0)
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            page = await http.get("/")
            assert page.status_code == 200
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert 'data-k="fleet.total">1<' in page.text
            assert (await http.post("/")).status_code == 405  # read-only
            async with http.stream("GET", "/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                events = []
                while len(events) < 2:
                    line = await anext(lines)
                    if line.startswith("data: "):
                        events.append(json.loads(line.removeprefix("data: ")))
                assert {"values", "tables"} <= set(events[0])
                assert int(events[1]["values"]["fleet.total"]) >= 1
                assert (await http.get("/events")).status_code == 503
                stopping.set()
                async with asyncio.timeout(30):  # the stream ends by itself
                    async for _ in lines:
                        pass
    finally:
        await server.stop()
