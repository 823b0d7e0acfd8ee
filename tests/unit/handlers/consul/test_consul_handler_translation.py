"""HandlerConsul's own logic: the requests it builds and how it reads every kind of reply.

An ``httpx.MockTransport`` plays the agent here so each reply (status, header, body) can be
chosen exactly; the same handler runs against real HTTP servers in the integration tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import pytest_asyncio

from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraTimeoutError,
    InfraUnavailableError,
    RuntimeHostError,
)
from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)

_TOKEN = f"tok-{uuid.uuid4().hex}"

Reply = Callable[[httpx.Request], httpx.Response]


def _default_reply(request: httpx.Request) -> httpx.Response:
    """A leader for status, ``true`` for KV writes, an empty 200 for agent writes."""
    if request.url.path == "/v1/status/leader":
        return httpx.Response(200, json="127.0.0.1:8300")
    if request.url.path.startswith("/v1/kv/"):
        return httpx.Response(200, json=True)
    return httpx.Response(200)


class Agent:
    """Records requests and answers them with ``reply`` (by default as a healthy agent)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: Reply = _default_reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)


@pytest.fixture
def agent() -> Agent:
    """A scripted agent."""
    return Agent()


@pytest_asyncio.fixture
async def handler(agent: Agent) -> AsyncIterator[HandlerConsul]:
    """A started handler with an ACL token whose transport is ``agent``."""
    consul = HandlerConsul(
        ModelConsulSettings(base_url="http://consul.test:8500", token=_TOKEN),
        transport=httpx.MockTransport(agent),
    )
    await consul.start()
    try:
        yield consul
    finally:
        await consul.close()


async def test_register_sends_the_documented_definition(
    handler: HandlerConsul, agent: Agent
) -> None:
    """Register is a PUT with replace-existing-checks and Consul's field names and durations."""
    registration = ModelServiceRegistration(
        service_id="node-1",
        name="onex-node",
        address="10.0.0.5",
        port=8085,
        tags=("effect",),
        meta={"version": "1.2.3"},
        checks=(
            ModelDiscoveryCheck(ttl_seconds=15, deregister_critical_after_seconds=90),
            ModelDiscoveryCheck(
                http_url="http://10.0.0.5:8085/health", interval_seconds=10, timeout_seconds=2.5
            ),
        ),
    )
    await handler.register_service(registration)
    request = agent.requests[-1]
    assert (request.method, request.url.path) == ("PUT", "/v1/agent/service/register")
    assert request.url.params["replace-existing-checks"] == "true"
    assert json.loads(request.content) == {
        "ID": "node-1",
        "Name": "onex-node",
        "Tags": ["effect"],
        "Meta": {"version": "1.2.3"},
        "Address": "10.0.0.5",
        "Port": 8085,
        "Checks": [
            {
                "CheckID": "service:node-1:1",
                "Name": "Service 'onex-node' check",
                "TTL": "15000ms",
                "DeregisterCriticalServiceAfter": "90000ms",
            },
            {
                "CheckID": "service:node-1:2",
                "Name": "Service 'onex-node' check",
                "HTTP": "http://10.0.0.5:8085/health",
                "Interval": "10000ms",
                "Timeout": "2500ms",
            },
        ],
    }


async def test_token_rides_only_in_the_header(handler: HandlerConsul, agent: Agent) -> None:
    """Every request carries X-Consul-Token; the token is never in a URL."""
    await handler.kv_put("a/b", b"x")
    await handler.update_ttl_check("service:x", EnumCheckStatus.WARNING, "note")
    for request in agent.requests:
        assert request.headers["X-Consul-Token"] == _TOKEN
        assert _TOKEN not in str(request.url)


async def test_ttl_updates_use_pass_warn_fail(handler: HandlerConsul, agent: Agent) -> None:
    """Each status maps to its agent endpoint, with the note as a query parameter."""
    for status in EnumCheckStatus:
        assert await handler.update_ttl_check("service:web-1", status, "why") is True
    paths = [r.url.path for r in agent.requests[-3:]]
    assert paths == [
        "/v1/agent/check/pass/service:web-1",
        "/v1/agent/check/warn/service:web-1",
        "/v1/agent/check/fail/service:web-1",
    ]
    assert agent.requests[-1].url.params["note"] == "why"


async def test_blocking_reads_send_index_and_wait(handler: HandlerConsul, agent: Agent) -> None:
    """A blocking read sends ?index=&wait= (Go duration) and reads X-Consul-Index back."""
    agent.reply = lambda _: httpx.Response(200, json=[], headers={"X-Consul-Index": "77"})
    result = await handler.healthy_instances(
        "web", tag="blue", blocking=ModelBlockingQuery(index=42, wait_seconds=2)
    )
    params = agent.requests[-1].url.params
    assert (params["index"], params["wait"], params["passing"], params["tag"]) == (
        "42",
        "2000ms",
        "true",
        "blue",
    )
    assert result.index == 77


async def test_index_zero_does_not_block(handler: HandlerConsul, agent: Agent) -> None:
    """A blocking query from index 0 is sent as a plain read; a missing index header reads 0."""
    agent.reply = lambda _: httpx.Response(200, json={})
    result = await handler.list_services(blocking=ModelBlockingQuery(index=0))
    assert "index" not in agent.requests[-1].url.params
    assert result.index == 0


@pytest.mark.parametrize(
    ("status", "headers", "error_type", "retriable"),
    [
        (400, {}, RuntimeHostError, False),
        (401, {}, InfraAuthenticationError, False),
        (403, {}, InfraAuthenticationError, False),
        (405, {}, RuntimeHostError, False),
        (408, {}, InfraTimeoutError, True),
        (413, {}, RuntimeHostError, False),
        (429, {"Retry-After": "3"}, InfraUnavailableError, True),
        (500, {}, InfraUnavailableError, True),
        (502, {}, InfraUnavailableError, True),
        (503, {"Retry-After": "7"}, InfraUnavailableError, True),
    ],
)
async def test_error_statuses_are_translated(
    handler: HandlerConsul,
    agent: Agent,
    status: int,
    headers: dict[str, str],
    error_type: type[RuntimeHostError],
    retriable: bool,
) -> None:
    """Each HTTP error status becomes the error of the table, with its retriability."""
    agent.reply = lambda _: httpx.Response(status, text="Permission denied", headers=headers)
    with pytest.raises(error_type) as caught:
        await handler.kv_put("a", b"x")
    assert type(caught.value) is error_type
    assert caught.value.retriable is retriable
    assert caught.value.infra_context.operation == "kv_put"
    if "Retry-After" in headers:
        assert isinstance(caught.value, InfraUnavailableError)
        assert caught.value.retry_after_seconds == float(headers["Retry-After"])


async def test_a_reply_echoing_the_token_is_masked(handler: HandlerConsul, agent: Agent) -> None:
    """An agent reply that quotes the token never puts it into the raised error."""
    agent.reply = lambda _: httpx.Response(403, text=f"ACL not found for token {_TOKEN}")
    with pytest.raises(InfraAuthenticationError) as caught:
        await handler.list_services()
    assert _TOKEN not in str(caught.value)
    assert _TOKEN not in caught.value.model.model_dump_json()


async def test_not_ttl_check_is_not_retriable(handler: HandlerConsul, agent: Agent) -> None:
    """Consul's 500 "does not have associated TTL" is a non-retriable error, not an outage."""
    agent.reply = lambda _: httpx.Response(
        500, text='CheckID "service:web-1" does not have associated TTL'
    )
    with pytest.raises(RuntimeHostError) as caught:
        await handler.update_ttl_check("service:web-1", EnumCheckStatus.PASSING)
    assert type(caught.value) is RuntimeHostError
    assert caught.value.retriable is False


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "Unknown service ID"), (500, 'Unknown service "web-1"')],
)
async def test_unknown_service_is_false_on_new_and_old_agents(
    handler: HandlerConsul, agent: Agent, status: int, text: str
) -> None:
    """Deregistering an unknown id is False whether the agent says 404 or (before 1.11) 500."""
    agent.reply = lambda _: httpx.Response(status, text=text)
    assert await handler.deregister_service("web-1") is False


async def test_register_404_is_an_error_not_false(handler: HandlerConsul, agent: Agent) -> None:
    """A 404 where none is expected (register) is a non-retriable error."""
    agent.reply = lambda _: httpx.Response(404, text="not found")
    with pytest.raises(RuntimeHostError) as caught:
        await handler.register_service(ModelServiceRegistration(service_id="a", name="a"))
    assert caught.value.retriable is False


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"unexpected": "object"}',
        b'[{"Node": {"Node": "n"}, "Service": {}, "Checks": []}]',
    ],
)
async def test_undocumented_replies_are_rejected(
    handler: HandlerConsul, agent: Agent, body: bytes
) -> None:
    """A health reply that is not Consul's documented JSON raises a non-retriable error."""
    agent.reply = lambda _: httpx.Response(200, content=body)
    with pytest.raises(RuntimeHostError) as caught:
        await handler.healthy_instances("web")
    assert caught.value.retriable is False
    assert "not the documented JSON" in str(caught.value)


async def test_bad_base64_in_kv_is_rejected(handler: HandlerConsul, agent: Agent) -> None:
    """A KV value that is not base64 raises a non-retriable error instead of returning junk."""
    agent.reply = lambda _: httpx.Response(
        200, json=[{"Key": "k", "Value": "***", "CreateIndex": 1, "ModifyIndex": 1}]
    )
    with pytest.raises(RuntimeHostError) as caught:
        await handler.kv_get("k")
    assert caught.value.retriable is False


async def test_an_oversized_reply_is_refused(agent: Agent) -> None:
    """A reply larger than max_response_bytes is refused rather than read into memory."""
    consul = HandlerConsul(
        ModelConsulSettings(base_url="http://consul.test:8500", max_response_bytes=1024),
        transport=httpx.MockTransport(agent),
    )
    await consul.start()
    agent.reply = lambda _: httpx.Response(200, json={f"svc{i}": [] for i in range(200)})
    try:
        with pytest.raises(RuntimeHostError) as caught:
            await consul.list_services()
        assert caught.value.retriable is False
    finally:
        await consul.close()


async def test_ping_without_a_leader_is_unhealthy(handler: HandlerConsul, agent: Agent) -> None:
    """An agent whose cluster has no leader (empty string) is reported unhealthy."""
    agent.reply = lambda _: httpx.Response(200, json="")
    health = await handler.ping()
    assert (health.healthy, health.detail) == (False, "no leader")


async def test_instances_fall_back_to_the_node_address(
    handler: HandlerConsul, agent: Agent
) -> None:
    """An instance registered without an address is reached at its node's address."""
    agent.reply = lambda _: httpx.Response(
        200,
        json=[
            {
                "Node": {"Node": "n1", "Address": "10.9.9.9"},
                "Service": {"ID": "b", "Service": "web", "Address": "", "Port": 0},
                "Checks": [],
            },
            {
                "Node": {"Node": "n1", "Address": "10.9.9.9"},
                "Service": {"ID": "a", "Service": "web", "Address": "10.0.0.1", "Port": 80},
                "Checks": [],
            },
        ],
        headers={"X-Consul-Index": "5"},
    )
    result = await handler.healthy_instances("web")
    assert [(i.service_id, i.address, i.port) for i in result.instances] == [
        ("a", "10.0.0.1", 80),
        ("b", "10.9.9.9", 0),
    ]


@pytest.mark.parametrize("body", [b'"true"', b"1", b"null"])
async def test_kv_write_answer_must_be_a_json_bool(
    handler: HandlerConsul, agent: Agent, body: bytes
) -> None:
    """A KV write answered with anything but JSON true/false is rejected, not guessed."""
    agent.reply = lambda _: httpx.Response(200, content=body)
    with pytest.raises(RuntimeHostError):
        await handler.kv_put("a", b"x")
