"""``GET /registry`` answers in bounded pages with a cursor, and ``registry list`` follows them.

The runtime's registry runs on the real PostgreSQL; 2,500 registrations are written straight
into its table (cost ~3-5 s with the CLI run).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from registration_harness import registry_config, running_registry

from omnibase_infra.nodes.registration.registry_api import MAX_PAGE

pytestmark = pytest.mark.integration

_ROWS = 2500
_STALE = 700
_FILL = """
INSERT INTO onex_registrations (node_id, node_name, node_type, node_version, state,
    registered_at, last_heartbeat_at, updated_at, version)
SELECT gen_random_uuid(), 'node-' || lpad((i % 1000)::text, 4, '0'), 'effect', '1.0.0',
    CASE WHEN i <= $2 THEN 'stale' ELSE 'active' END, now(), now() + interval '1 day', now(), 1
FROM generate_series(1, $1) AS i
"""


async def _walk(
    http: httpx.AsyncClient, hub: str, **params: str
) -> tuple[list[dict[str, object]], list[int], int]:
    """Every row over every page, each page's size, and the totals the first page gave."""
    rows: list[dict[str, object]] = []
    sizes: list[int] = []
    query = dict(params)
    total = -1
    while True:
        reply = await http.get(f"{hub}/registry", params=query)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        total = page["total"] if total < 0 else total
        assert page["count"] == len(page["nodes"])
        rows.extend(page["nodes"])
        sizes.append(page["count"])
        if page["next"] is None:
            return rows, sizes, total
        query["after"] = page["next"]


async def test_registry_pages_are_bounded_and_walk_every_row_once(postgres_dsn: str) -> None:
    """2,500 registrations come in pages of at most the limit (1,000 at most), in name order,
    each row exactly once; a state filter pages in SQL with its own total; a limit above the
    bound or a forged cursor is refused (422); ``registry list`` follows every page."""
    config = registry_config(http=True)
    async with running_registry(postgres_dsn, config=config) as registry:
        await registry.postgres.execute(_FILL, _ROWS, _STALE)
        hub = f"http://127.0.0.1:{registry.host.http_port}"
        async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
            rows, sizes, total = await _walk(http, hub, limit=str(MAX_PAGE))
            assert sizes == [1000, 1000, 500]
            assert total == _ROWS
            assert len({row["node_id"] for row in rows}) == _ROWS
            keys = [(str(row["node_name"]), str(row["node_id"])) for row in rows]
            assert keys == sorted(keys)
            stale, stale_sizes, stale_total = await _walk(http, hub, state="stale", limit="300")
            assert stale_sizes == [300, 300, 100]
            assert stale_total == _STALE
            assert {row["state"] for row in stale} == {"stale"}
            default = (await http.get(f"{hub}/registry")).json()
            assert default["count"] == 500
            assert default["by_state"] == {"active": _ROWS - _STALE, "stale": _STALE}
            for params in ({"limit": "100000"}, {"limit": "1001"}, {"after": "not-a-cursor"}):
                assert (await http.get(f"{hub}/registry", params=params)).status_code == 422
        cli = await asyncio.to_thread(
            subprocess.run,
            [str(Path(sys.executable).parent / "onex-infra"), "registry", "list", "--hub", hub],
            capture_output=True,
            text=True,
            timeout=120,
            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        )
        assert cli.returncode == 0, cli.stderr
        assert f"{_ROWS} registration(s)" in cli.stdout
        assert f"{_ROWS - _STALE} active, {_STALE} stale" in cli.stdout
