"""RuntimeHostProcess with real contracts on the in-memory bus: the four archetypes wired from
their contracts, the hub's /health, /ready and /metrics over real HTTP, container wiring and
test doubles, a bad contract that stops the start leaving nothing running, configuration
errors, the loopback default, and no secret in any HTTP reply."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from fastapi import APIRouter
from omnibase_core.errors.error_service_resolution import ServiceResolutionError
from runtime_support import (
    RecordingSink,
    SwitchableHandler,
    get_metrics,
    hub_client,
    in_memory_bus,
    node_config,
    publish_start_job,
    running_host,
)
from runtime_testnodes import PIPELINE_DIR
from runtime_testnodes.protocol_rt_sink import ProtocolRtSink

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.container_wiring import wire_infrastructure_services_async
from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.http.hub import create_hub_app
from omnibase_infra.runtime.http.server import HubServer
from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing import eventually, free_port

pytestmark = pytest.mark.integration

NODES = ("rt_flow_orchestrator", "rt_tally_reducer", "rt_record_effect", "rt_square_compute")


# -- the four archetypes from their contracts ---------------------------------------------------


async def test_contracts_of_each_archetype_run_as_one_pipeline() -> None:
    """A command flows orchestrator -> event -> reducer -> intent -> effect, and the compute node
    subscribed to the same command handles it too."""
    sink = RecordingSink()
    async with running_host(sink=sink) as host, hub_client(host) as client:
        assert sorted(c.name for c in host.contracts) == sorted(NODES)
        before = await get_metrics(client)
        for seq in range(5):
            await publish_start_job(in_memory_bus(host), key="a", seq=seq, value=seq)
        await eventually(lambda: len(sink.recorded) == 5, "5 recorded jobs")
        after = await get_metrics(client)
    assert [r.job.seq for r in sink.recorded] == [0, 1, 2, 3, 4]
    assert [r.job.count for r in sink.recorded] == [1, 2, 3, 4, 5]  # the reducer's state
    handled = (
        "onex_dispatch_messages_total",
        (("node", "rt_square_compute"), ("outcome", "handled")),
    )
    assert after[handled] - before.get(handled, 0.0) == 5


# -- /health, /ready, /metrics ------------------------------------------------------------------


async def test_health_is_live_and_ready_is_200_when_every_ping_passes() -> None:
    """/health answers live; /ready is 200 with the bus's and each handler's check listed."""
    handler = SwitchableHandler("dependency")
    async with running_host(handlers=[handler]) as host, hub_client(host) as client:
        health = await client.get("/health")
        ready = await client.get("/ready")
    assert health.status_code == 200
    assert health.json() == {"status": "live"}
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["status"] == "ready"
    assert {c["name"]: c["healthy"] for c in body["checks"]} == {
        "event_bus": True,
        "dependency": True,
        "consumer_progress": True,
    }
    assert handler.started


async def test_ready_is_503_before_the_host_has_started() -> None:
    """The host's readiness answers 503 "starting" over HTTP until ``start`` completed."""
    host = RuntimeHostProcess(node_config(), services={ProtocolRtSink: RecordingSink()})
    server = HubServer(create_hub_app(host.readiness), "127.0.0.1", 0)
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            before = await client.get("/ready")
            await host.start()
            after = await client.get("/ready")
    finally:
        await host.stop()
        await server.stop()
    assert before.status_code == 503
    assert before.json()["status"] == "starting"
    assert after.status_code == 200


async def test_ready_is_503_while_a_ping_fails_and_200_once_it_passes_again() -> None:
    """A failing handler ping makes /ready 503 naming the handler; recovery makes it 200."""
    handler = SwitchableHandler("flaky")
    async with running_host(handlers=[handler]) as host, hub_client(host) as client:
        handler.healthy = False
        failing = await client.get("/ready")
        handler.healthy = True
        recovered = await client.get("/ready")
    assert failing.status_code == 503
    body = failing.json()
    assert body["ready"] is False
    (check,) = [c for c in body["checks"] if c["name"] == "flaky"]
    assert check["healthy"] is False
    assert check["detail"] == "down"
    assert recovered.status_code == 200


async def test_ready_check_details_are_sanitised() -> None:
    """A handler reporting a DSN with a password, a token and a registered secret in its ping
    detail has all of them masked in /ready."""
    secret = "ready-secret-Zq81xk"
    register_secret(secret)
    handler = SwitchableHandler("leaky")
    handler.healthy = False
    handler.failure_detail = (
        f"cannot reach postgresql://onex:pw-Hx71@db:5432/onex; token=tok-9f8e7d6c; {secret}"
    )
    async with running_host(handlers=[handler]) as host, hub_client(host) as client:
        reply = await client.get("/ready")
    assert reply.status_code == 503
    for leaked in ("pw-Hx71", "tok-9f8e7d6c", secret):
        assert leaked not in reply.text
    (check,) = [c for c in reply.json()["checks"] if c["name"] == "leaky"]
    assert "cannot reach postgresql://" in check["detail"]  # the useful part stays


async def test_a_ping_that_raises_is_a_failed_check_not_a_server_error() -> None:
    """A handler whose ping raises (breaking its contract) makes /ready 503 with that check
    failed and the error sanitised, instead of a 500."""
    handler = SwitchableHandler("raiser")
    handler.ping_error = RuntimeError("connect failed: password=hunter2-Qx")
    async with running_host(handlers=[handler]) as host, hub_client(host) as client:
        reply = await client.get("/ready")
    assert reply.status_code == 503
    (check,) = [c for c in reply.json()["checks"] if c["name"] == "raiser"]
    assert check["healthy"] is False
    assert check["detail"].startswith("RuntimeError: connect failed")
    assert "hunter2-Qx" not in reply.text


async def test_a_ping_that_never_answers_fails_its_check_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A handler whose ping hangs does not hang /ready: the check fails as timed out."""
    monkeypatch.setattr("omnibase_infra.runtime.http.health_checks.PING_TIMEOUT_SECONDS", 0.2)
    handler = SwitchableHandler("hanger")
    async with running_host(handlers=[handler]) as host, hub_client(host) as client:
        handler.ping_hangs = True
        reply = await client.get("/ready")
        handler.ping_hangs = False
    assert reply.status_code == 503
    (check,) = [c for c in reply.json()["checks"] if c["name"] == "hanger"]
    assert check["healthy"] is False
    assert "did not answer" in check["detail"]


async def test_metrics_are_prometheus_text_with_the_dispatch_counters() -> None:
    """/metrics serves Prometheus text whose per-node outcome and emitted counters grow by
    exactly what a run dispatched."""
    sink = RecordingSink()
    async with running_host(sink=sink) as host, hub_client(host) as client:
        before = await get_metrics(client)
        for seq in range(7):
            await publish_start_job(in_memory_bus(host), key="m", seq=seq)
        await eventually(lambda: len(sink.recorded) == 7, "7 recorded jobs")
        reply = await client.get("/metrics")
        after = await get_metrics(client)
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    for node in NODES:
        assert grew("onex_dispatch_messages_total", node=node, outcome="handled") == 7, node
    assert (
        grew("onex_dispatch_emitted_messages_total", node="rt_flow_orchestrator", kind="event") == 7
    )
    assert grew("onex_dispatch_emitted_messages_total", node="rt_tally_reducer", kind="intent") == 7


# -- container wiring ---------------------------------------------------------------------------


async def test_handlers_receive_services_from_the_container_by_type() -> None:
    """The container resolves the runtime's services by type (the loaded contracts included,
    the host itself not), and the effect's handler got its sink from it (the registered
    instance records the jobs)."""
    sink = RecordingSink()
    handler = SwitchableHandler()
    async with running_host(sink=sink, handlers=[handler]) as host:
        container = host.container
        assert isinstance(container, ModelONEXContainer)
        assert container.get_service(EventBusBase) is host.bus
        assert container.get_service(MessageDispatchEngine) is host.engine
        assert container.get_service(SwitchableHandler) is handler
        assert container.get_service(ProtocolRtSink) is sink  # type: ignore[type-abstract]
        loaded = container.get_service(ModelLoadedContracts)
        assert loaded.contracts == tuple(host.contracts)
        with pytest.raises(ServiceResolutionError):
            container.get_service(RuntimeHostProcess)
        await publish_start_job(in_memory_bus(host), key="c")
        await eventually(lambda: len(sink.recorded) == 1, "the job in the sink")


async def test_a_double_registered_for_a_type_replaces_the_runtime_service() -> None:
    """A double passed for a handler's type replaces the handler the runtime registered."""
    real = SwitchableHandler("real")
    double = SwitchableHandler("double")
    async with running_host(handlers=[real], services={SwitchableHandler: double}) as host:
        assert host.container.get_service(SwitchableHandler) is double


async def test_wiring_the_same_type_again_replaces_the_earlier_instance() -> None:
    """``wire_infrastructure_services_async`` has replace semantics: the last instance of a
    type wins (core's registry alone would keep resolving the first)."""
    container = ModelONEXContainer()
    first, second = RecordingSink(), RecordingSink()
    await wire_infrastructure_services_async(container, {ProtocolRtSink: first})
    await wire_infrastructure_services_async(container, {ProtocolRtSink: second})
    assert container.get_service(ProtocolRtSink) is second  # type: ignore[type-abstract]


async def test_two_types_with_the_same_name_are_refused() -> None:
    """Core's registry keys types by name, so wiring two different types that share a name
    would resolve one for the other: it is refused naming both."""
    other = type("ProtocolRtSink", (), {"__module__": "somewhere.else"})
    container = ModelONEXContainer()
    await wire_infrastructure_services_async(container, {ProtocolRtSink: RecordingSink()})
    with pytest.raises(ProtocolConfigurationError) as caught:
        await wire_infrastructure_services_async(container, {other: object()})
    assert "somewhere.else.ProtocolRtSink" in caught.value.message
    assert "runtime_testnodes.protocol_rt_sink.ProtocolRtSink" in caught.value.message


# -- a bad contract stops the start; nothing is left running -------------------------------------


def _copy_pipeline(tmp_path: Path) -> Path:
    target = tmp_path / "contracts"
    shutil.copytree(PIPELINE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(contracts: Path, node: str, change: dict[str, object]) -> Path:
    """Apply ``{dotted.path: value}`` changes to one copied contract; returns its file."""
    path = contracts / node / "contract.yaml"
    data = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        target = data
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


_HANDLER = "handler_routing.handlers.0.handler"
_BAD_CONTRACTS = [
    pytest.param(
        "node_rt_square_compute",
        {"node_type": "MAGIC_GENERIC"},
        "node_type",
        "unknown archetype",
        id="unknown-archetype",
    ),
    pytest.param(
        "node_rt_tally_reducer",
        {f"{_HANDLER}.module": "elsewhere.handlers"},
        f"{_HANDLER}.module",
        "outside the handler import allowlist",
        id="outside-allowlist",
    ),
    pytest.param(
        "node_rt_tally_reducer",
        {f"{_HANDLER}.name": "HandlerMissing"},
        "handler_routing.handlers.0",
        "has no class HandlerMissing",
        id="missing-class",
    ),
    pytest.param(
        "node_rt_flow_orchestrator",
        {f"{_HANDLER}.module": "runtime_testnodes.no_such_module"},
        "handler_routing.handlers.0",
        "cannot import",
        id="missing-module",
    ),
    pytest.param(
        "node_rt_flow_orchestrator",
        {"event_bus.publish_topics": ["onex.intent.rtest.sneaky.v1"]},
        "event_bus.publish_topics.0",
        "may not publish on intent topics",
        id="archetype-rule",
    ),
]


@pytest.mark.parametrize(("node", "change", "field", "reason"), _BAD_CONTRACTS)
async def test_a_bad_contract_stops_the_start_and_leaves_nothing_running(
    tmp_path: Path, node: str, change: dict[str, object], field: str, reason: str
) -> None:
    """The start fails with the contract's file, the field and the reason; the bus is closed,
    the handlers closed, and the hub's port is not bound."""
    contracts = _copy_pipeline(tmp_path)
    path = _edit(contracts, node, change)
    port = free_port()
    handler = SwitchableHandler()
    host = RuntimeHostProcess(
        node_config(contracts, http={"port": port}),
        handlers=[handler],
        services={ProtocolRtSink: RecordingSink()},
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        await host.start()
    error = caught.value
    assert (error.file, error.field) == (str(path), field)
    assert reason in error.message
    assert (await host.bus.health_check())["healthy"] is False  # closed
    assert handler.closed or not handler.started
    assert host.http_port is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens


async def test_a_handler_needing_an_unregistered_service_names_contract_and_service() -> None:
    """A handler whose constructor resolves a service nobody registered stops the start with a
    configuration error naming the contract file, the handler entry and the missing type."""
    handler = SwitchableHandler()
    host = RuntimeHostProcess(node_config(), handlers=[handler])  # no ProtocolRtSink
    with pytest.raises(ProtocolConfigurationError) as caught:
        await host.start()
    error = caught.value
    assert error.file == str(PIPELINE_DIR / "node_rt_record_effect" / "contract.yaml")
    assert error.field == "handler_routing.handlers.0"
    assert "ProtocolRtSink" in error.message
    assert handler.closed
    assert (await host.bus.health_check())["healthy"] is False


# -- configuration ------------------------------------------------------------------------------


def _write_yaml(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "runtime.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_config_precedence_is_arguments_then_env_then_yaml_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value in the YAML file beats the default, ONEX_* beats the file, arguments beat both."""
    path = _write_yaml(
        tmp_path, {"http": {"port": 9101}, "event_bus": {"partitions": 2}, "service": "from-yaml"}
    )
    monkeypatch.delenv("ONEX_CONFIG", raising=False)
    assert load_runtime_config(path).http.port == 9101
    monkeypatch.setenv("ONEX_HTTP__PORT", "9102")
    monkeypatch.setenv("ONEX_SERVICE", "from-env")
    config = load_runtime_config(path, service="from-argument")
    assert config.http.port == 9102
    assert config.service == "from-argument"
    assert config.event_bus.partitions == 2  # untouched file values stay
    assert config.http.host == "127.0.0.1"  # defaults fill the rest
    monkeypatch.setenv("ONEX_CONFIG", str(path))
    assert load_runtime_config().event_bus.partitions == 2  # the file found through ONEX_CONFIG


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"htttp": {"port": 1}}, "htttp", "Extra inputs are not permitted"),
        ({"http": {"port": 1, "hots": "0.0.0.0"}}, "http.hots", "Extra inputs are not permitted"),
        ({"http": {"port": 70000}}, "http.port", "less than or equal to 65535"),
        ({"event_bus": {"kind": "rabbit"}}, "event_bus.kind", "'inmemory' or 'kafka'"),
        ({"profile": "production"}, None, "needs event_bus.kind: kafka"),
    ],
    ids=["unknown-key", "unknown-nested-key", "out-of-range", "bad-choice", "profile-rule"],
)
def test_a_bad_config_file_names_file_field_and_reason(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, object],
    field: str | None,
    reason: str,
) -> None:
    """Each bad YAML value is a ProtocolConfigurationError with the file, the field, the reason."""
    monkeypatch.delenv("ONEX_CONFIG", raising=False)
    path = _write_yaml(tmp_path, data)
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert caught.value.file == str(path)
    if field is not None:
        assert caught.value.field == field
    assert reason in caught.value.reason


def test_a_bad_env_value_names_the_variable_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad ONEX_* value is reported against that variable, even when a file was given."""
    path = _write_yaml(tmp_path, {"http": {"port": 9100}})
    monkeypatch.setenv("ONEX_HTTP__PORT", "not-a-port")
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert caught.value.file == "environment variable ONEX_HTTP__PORT"
    assert caught.value.field == "http.port"
    assert "valid integer" in caught.value.reason
    assert "not-a-port" not in caught.value.message  # input is never echoed


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://onex:Lit3ral-pw@db:5432/onex",
        "host=db user=onex password=Lit3ral-pw",  # libpq keyword form
        "Lit3ral-pw",  # a bare password
    ],
)
@pytest.mark.parametrize("source", ["yaml", "env"])
def test_a_literal_dsn_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, dsn: str
) -> None:
    """postgres.dsn must be a secret reference: a literal DSN (URL or keyword form, or a bare
    password) is refused at postgres.dsn, and no piece of it appears in the error."""
    monkeypatch.delenv("ONEX_CONFIG", raising=False)
    path = None
    if source == "yaml":
        path = _write_yaml(tmp_path, {"postgres": {"mode": "external", "dsn": dsn}})
    else:
        monkeypatch.setenv("ONEX_POSTGRES__MODE", "external")
        monkeypatch.setenv("ONEX_POSTGRES__DSN", dsn)
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    error = caught.value
    assert error.field == "postgres.dsn"
    assert "secret reference" in error.reason
    for text in (error.message, str(error), repr(error)):
        assert "Lit3ral-pw" not in text
    if source == "env":
        assert error.file == "environment variable ONEX_POSTGRES__DSN"


# -- network exposure and secrets ---------------------------------------------------------------


async def test_the_hub_binds_loopback_by_default() -> None:
    """With no http.host configured the hub listens on 127.0.0.1 only."""
    assert ModelRuntimeConfig().http.host == "127.0.0.1"
    async with running_host() as host:
        port = host.http_port
        listening = [
            conn.laddr
            for conn in psutil.Process(os.getpid()).net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
        ]
    assert [addr.ip for addr in listening] == ["127.0.0.1"]


async def test_no_secret_appears_in_any_http_reply() -> None:
    """/health, /ready, /metrics, the OpenAPI document, a 404 and a router's error reply carry no
    registered secret, DSN password or token, even when a ping and an error quote them."""
    secret = "hub-secret-P0o9i8"
    register_secret(secret)
    leaks = (secret, "dsn-pw-31337", "tok-a1b2c3d4e5")
    handler = SwitchableHandler("leaky")
    handler.healthy = False
    handler.failure_detail = f"postgresql://u:dsn-pw-31337@h/db token=tok-a1b2c3d4e5 {secret}"
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> dict[str, str]:
        raise InfraConnectionError(
            f"cannot reach postgresql://u:dsn-pw-31337@h/db with {secret}",
            context=ModelInfraErrorContext(
                transport_type=EnumInfraTransportType.DATABASE, operation="connect"
            ),
        )

    async with (
        running_host(handlers=[handler], routers=[router]) as host,
        hub_client(host) as client,
    ):
        replies = [
            await client.get(path)
            for path in ("/health", "/ready", "/metrics", "/openapi.json", "/nope", "/boom")
        ]
    assert [r.status_code for r in replies] == [200, 503, 200, 200, 404, 503]
    for reply in replies:
        for leaked in leaks:
            assert leaked not in reply.text, (reply.url.path, leaked)
        assert all(leaked not in value for value in reply.headers.values() for leaked in leaks)
    assert "cannot reach postgresql://" in replies[-1].json()["message"]
