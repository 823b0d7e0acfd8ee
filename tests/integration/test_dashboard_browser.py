"""The live dashboard of ``onex-infra run`` in a real headless chromium (Debian's, Playwright).

The runtime is spawned with a config file (``dashboard.port: 0``, PostgreSQL external on the
test's database); nodes register the way a node does, by introspecting through the ingress.
The page's figures are compared with ``GET /registry`` of the same runtime, before and after
more nodes register, without a reload. A screenshot is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from browser_support import CHROMIUM, artifact, install_chromium
from process_support import RuntimeProcess, spawned, write_config

from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION
from omnibase_infra.testing import eventually

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_REDUCER = "node_registration_reducer"
_DSN = "DASHBOARD_TEST_DSN"


def _url(runtime: RuntimeProcess, event: str) -> str:
    """The ``url`` the log line ``event`` names (the server bound port 0)."""
    line = next(line for line in runtime.lines if str(line.get("event", "")).startswith(event))
    return str(line["url"]).rstrip("/")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium, installed if missing (skips naming why when it cannot be)."""
    reason = install_chromium()
    if reason is not None:
        pytest.skip(reason)
    return CHROMIUM


@pytest_asyncio.fixture
async def browser_page(chromium_path: Path) -> AsyncIterator[Page]:
    """A fresh page of a headless chromium (closed after the test)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            yield page
        finally:
            await browser.close()


async def _introspect(ingress: httpx.AsyncClient, count: int) -> None:
    """``count`` new nodes introspect through the ingress (the published payload shape)."""
    for index in range(count):
        body = {
            "node_id": str(uuid4()),
            "node_name": f"dash-node-{index:03d}",
            "node_type": "effect",
            "node_version": {"major": 1, "minor": 0, "patch": 0},
            "declared_capabilities": {"dashboard_test": True},
            "endpoints": {},
            "reason": "startup",
            "correlation_id": str(uuid4()),
            "timestamp": "2026-01-01T00:00:00Z",
        }
        reply = await ingress.post(
            f"/v1/events/{TOPIC_NODE_INTROSPECTION}",
            params={"payload_type": "ModelNodeIntrospectionEvent"},
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 202, reply.text


async def _page_figures(page: Page) -> dict[str, str]:
    """Every live figure on the page, by its ``data-k``."""
    figures: dict[str, str] = await page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-k]')]"
        ".map((node) => [node.dataset.k, node.textContent]))"
    )
    return figures


def _matches(figures: dict[str, str], registry: dict[str, object]) -> bool:
    """Whether the page shows the registry's total and count by state (table and FSM)."""
    by_state = registry["by_state"]
    assert isinstance(by_state, dict)
    if figures.get("fleet.total") != str(registry["total"]):
        return False
    return all(
        figures.get(f"fleet.state.{state}") == str(count)
        and figures.get(f"fsm:{_REDUCER}:{state}") == str(count)
        for state, count in by_state.items()
    )


async def test_dashboard_page_follows_the_registry_live_in_chromium(
    tmp_path: Path, postgres_dsn: str, browser_page: Page
) -> None:
    """The dashboard page of a spawned runtime shows the counts of ``/registry`` (total, by
    state, on the reducer's FSM), then follows new registrations without a reload."""
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "external", "dsn": f"env://{_DSN}"},
            "dashboard": {"port": 0, "interval_seconds": 0.2},
            "log_format": "json",
        },
    )
    page = browser_page
    async with spawned(config, tmp_path / "out", **{_DSN: postgres_dsn}) as runtime:
        await runtime.until_ready()
        dashboard = _url(runtime, "dashboard listening")
        hub = f"http://127.0.0.1:{runtime.port}"
        async with (
            httpx.AsyncClient(base_url=_url(runtime, "ingress"), trust_env=False) as ingress,
            httpx.AsyncClient(base_url=hub, trust_env=False) as http,
        ):

            async def shown(expected_total: int) -> bool:
                registry = (await http.get("/registry")).json()
                return registry["total"] == expected_total and _matches(
                    await _page_figures(page), registry
                )

            await _introspect(ingress, 5)
            reply = await page.goto(dashboard)
            assert reply is not None
            assert reply.ok
            assert "script-src 'self'" in (await reply.all_headers())["content-security-policy"]
            await page.evaluate("() => { window.loadedOnce = true; }")
            await eventually(lambda: shown(5), "the page to show the registry's 5 nodes")
            await _introspect(ingress, 7)
            await eventually(lambda: shown(12), "the page to follow to 12 nodes, no reload")
            still_same_page = await page.evaluate(
                "() => window.loadedOnce === true"
                " && performance.getEntriesByType('navigation').length === 1"
            )
            assert still_same_page
            assert int(await page.evaluate("() => document.body.dataset.updates")) >= 2
            assert await page.locator("svg.graph").count() == 2  # the workflow and the FSM
            await page.screenshot(path=str(artifact("dashboard.png")), full_page=True)
        runtime.signal()
        assert await runtime.exit_code() == 0
