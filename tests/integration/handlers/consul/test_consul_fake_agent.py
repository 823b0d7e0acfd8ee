"""The fake Consul agent speaks Consul's HTTP API: raw requests, documented answers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from omnibase_infra.testing import FakeConsulAgent, ManualClock

pytestmark = pytest.mark.integration

_SERVICE = {
    "ID": "web-1",
    "Name": "web",
    "Port": 8080,
    "Check": {"TTL": "10s"},
}


@pytest_asyncio.fixture
async def client(fake_consul: FakeConsulAgent) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the ``fake_consul`` agent."""
    async with httpx.AsyncClient(base_url=fake_consul.base_url, timeout=10) as http:
        yield http


def _index(response: httpx.Response) -> int:
    return int(response.headers["X-Consul-Index"])


async def test_health_entries_have_consuls_shape(client: httpx.AsyncClient) -> None:
    """A health entry has Node, Service and Checks (serfHealth plus the service check)."""
    assert (await client.put("/v1/agent/service/register", json=_SERVICE)).status_code == 200
    response = await client.get("/v1/health/service/web")
    (entry,) = response.json()
    assert _index(response) >= 1
    assert entry["Node"]["Address"] == "127.0.0.1"
    assert (entry["Service"]["ID"], entry["Service"]["Address"], entry["Service"]["Port"]) == (
        "web-1",
        "",
        8080,
    )
    checks = {check["CheckID"]: check["Status"] for check in entry["Checks"]}
    assert checks == {"serfHealth": "passing", "service:web-1": "critical"}
    passing = await client.get("/v1/health/service/web", params={"passing": ""})
    assert passing.json() == []


async def test_index_moves_on_every_change(client: httpx.AsyncClient) -> None:
    """X-Consul-Index increases with each change to what a read covers, and not otherwise."""
    await client.put("/v1/agent/service/register", json=_SERVICE)
    first = _index(await client.get("/v1/health/service/web"))
    assert (await client.put("/v1/agent/check/pass/service:web-1")).status_code == 200
    second = _index(await client.get("/v1/health/service/web"))
    await client.put("/v1/kv/unrelated", content=b"x")
    third = _index(await client.get("/v1/health/service/web"))
    assert first < second == third


async def test_blocking_read_holds_until_wait_or_change(client: httpx.AsyncClient) -> None:
    """?index=&wait= returns the same index when nothing changed, a higher one after a change."""
    current = _index(await client.get("/v1/catalog/services"))
    unchanged = await client.get("/v1/catalog/services", params={"index": current, "wait": "100ms"})
    assert _index(unchanged) == current
    await client.put("/v1/agent/service/register", json=_SERVICE)
    changed = await client.get("/v1/catalog/services", params={"index": current, "wait": "5s"})
    assert _index(changed) > current
    assert changed.json() == {"web": []}


async def test_ttl_expiry_follows_the_clock(
    client: httpx.AsyncClient, fake_consul_clock: ManualClock
) -> None:
    """A passed TTL check goes critical with output "TTL expired" once its TTL elapses."""
    await client.put("/v1/agent/service/register", json=_SERVICE)
    await client.put("/v1/agent/check/pass/service:web-1", params={"note": "alive"})
    fake_consul_clock.advance(11)
    (entry,) = (await client.get("/v1/health/service/web")).json()
    check = next(c for c in entry["Checks"] if c["CheckID"] == "service:web-1")
    assert (check["Status"], check["Output"]) == ("critical", "TTL expired")


async def test_kv_wire_format(client: httpx.AsyncClient) -> None:
    """KV answers true/false, base64 values (null when empty), 404 with an index when missing."""
    assert (await client.put("/v1/kv/app/a", content=b"\x00bin")).json() is True
    assert (await client.put("/v1/kv/app/empty", content=b"")).json() is True
    (pair,) = (await client.get("/v1/kv/app/a")).json()
    assert base64.b64decode(pair["Value"]) == b"\x00bin"
    assert (await client.get("/v1/kv/app/empty")).json()[0]["Value"] is None
    stale = pair["ModifyIndex"] + 1
    assert (await client.put("/v1/kv/app/a", params={"cas": stale}, content=b"y")).json() is False
    missing = await client.get("/v1/kv/app/missing")
    assert missing.status_code == 404
    assert _index(missing) >= 1
    listed = await client.get("/v1/kv/app/", params={"recurse": ""})
    assert [p["Key"] for p in listed.json()] == ["app/a", "app/empty"]


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status", "text"),
    [
        ("GET", "/v1/catalog/services", {"index": "x"}, None, 400, "Invalid index"),
        ("GET", "/v1/catalog/services", {"index": "1", "wait": "soon"}, None, 400, "wait"),
        ("PUT", "/v1/kv/big", {}, b"x" * (512 * 1024 + 1), 413, "too large"),
        ("PUT", "/v1/agent/check/pass/nope", {}, None, 404, "Unknown check ID"),
        ("PUT", "/v1/agent/service/deregister/nope", {}, None, 404, "Unknown service ID"),
        ("PUT", "/v1/agent/service/register", {}, b'{"ID": "x"}', 400, "Request decode"),
        ("GET", "/v1/catalog/services", {"dc": "elsewhere"}, None, 500, "No path"),
        ("GET", "/v1/agent/service/register", {}, None, 405, ""),
    ],
)
async def test_errors_match_consuls(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, str],
    body: bytes | None,
    status: int,
    text: str,
) -> None:
    """Bad requests get Consul's status codes and messages."""
    response = await client.request(method, path, params=params, content=body)
    assert response.status_code == status
    assert text in response.text


async def test_acl_token_semantics() -> None:
    """With ACLs: unknown token 403, bearer accepted, anonymous reads filtered, status open."""
    async with (
        FakeConsulAgent(acl_token="the-right-token") as agent,
        httpx.AsyncClient(base_url=agent.base_url, timeout=10) as http,
    ):
        assert (await http.get("/v1/status/leader")).status_code == 200
        wrong = await http.get("/v1/catalog/services", headers={"X-Consul-Token": "nope"})
        assert (wrong.status_code, wrong.text) == (403, "ACL not found")
        bearer = {"Authorization": "Bearer the-right-token"}
        ok = await http.put("/v1/agent/service/register", json=_SERVICE, headers=bearer)
        assert ok.status_code == 200
        anonymous = await http.get("/v1/catalog/services")
        assert anonymous.json() == {}
        assert anonymous.headers["X-Consul-Results-Filtered-By-ACLs"] == "true"
        assert (await http.put("/v1/kv/k", content=b"x")).status_code == 403
        assert (await http.get("/v1/kv/k")).status_code == 403
