"""Canary secrets: ``onex-infra run`` holds a unique secret in every secret slot it has here,
is driven through traffic and failures, and no canary appears in anything it outputs.

Slots (each a random value no other process knows, so any occurrence is a leak):

- the PostgreSQL password, inside the DSN that ``postgres.dsn`` names in OpenBao (``vault://``);
- the OpenBao AppRole secret id (``env://``), and the root token the test set OpenBao up with;
- the Valkey password (``vault://``);
- the Consul ACL token, sent as the ``X-Consul-Token`` header (``env://``);
- the Kafka SASL password (``env://``): Tansu's SCRAM cannot be used by librdkafka here, so the
  broker is PLAINTEXT and the password only travels through resolution, settings and the
  client's configuration;
- the wrong PostgreSQL password, the wrong AppRole secret id and a password holding an
  unencoded '/' (which breaks its DSN) of three runs that must fail, the last one also given to
  ``dlq replay``.

Traffic and failures: nodes register over Kafka; garbage and an invalid introspection are sent
(the garbage is dead-lettered); Valkey is stopped (``/ready`` 503); the Consul agent is stopped
while a node registers; three runs start with bad credentials; ``dlq replay`` gets a broken DSN.

Places searched, each counted and printed: the runtime's stdout and stderr, the output of the
failing runs, of ``dlq list`` and ``dlq replay``, every DLQ record (its headers and key: the
original value is the sender's bytes), ``/metrics``, every hub body (``/health``, ``/ready``
healthy and in the outage, ``/registry`` and error replies), and every row of every table of the
runtime's database. A canary counts as found raw, percent-encoded, base64-encoded, or as any
8-character piece of its random part. Cost: ~45-60 s (one runtime boot on Kafka, three failing
starts, three CLI runs).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import asyncpg
import httpx
import pytest
import pytest_asyncio
import yaml

from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import read_dlq
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION
from omnibase_infra.testing import (
    FakeConsulAgent,
    OpenBaoServer,
    TansuServer,
    ValkeyServer,
    eventually,
    free_port,
    make_kafka_settings,
)

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")
_READ_POLICY = 'path "secret/data/onex/*" { capabilities = ["read"] }'
_BOOT_SECONDS = 240.0  # Kafka boot joins ~15 consumer groups; bounded, never asserted
_FRAGMENT = 8  # random characters: no text of the runtime's own holds them by chance


def _canary(slot: str) -> str:
    return f"canary-{slot}-{uuid4().hex}"


@dataclass
class Canaries:
    """Every secret value of the run, by slot."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, slot: str, value: str) -> str:
        self.values[slot] = value
        return value

    def forms(self) -> dict[str, tuple[str, ...]]:
        """Each canary as it could appear: raw, percent-encoded, base64, and every
        ``_FRAGMENT``-character piece of its random part (a parser's message may quote a
        piece: ``Port could not be cast to integer value as '...'``)."""
        forms: dict[str, tuple[str, ...]] = {}
        for slot, value in self.values.items():
            secret = value.split("-", 2)[2] if value.startswith("canary-") else value
            pieces = {secret[i : i + _FRAGMENT] for i in range(len(secret) - _FRAGMENT + 1)}
            encoded = (quote(value, safe=""), base64.b64encode(value.encode()).decode())
            forms[slot] = (value, *encoded, *sorted(pieces))
        return forms


@dataclass
class Place:
    """Text gathered from one place the runtime writes to."""

    name: str
    texts: list[str] = field(default_factory=list)


# -- servers of this module's own (it stops some of them) ------------------------------------------


@pytest.fixture
def tansu() -> Iterator[TansuServer]:
    """A broker of this test's own: the runtime's fixed topic names meet no other test."""
    with TansuServer() as server:
        yield server


@pytest.fixture
def openbao(postgres_base_dir: Path) -> Iterator[OpenBaoServer]:
    """A dev OpenBao of this test's own (its root token is a canary too)."""
    server = OpenBaoServer.start(postgres_base_dir / "openbao")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def valkey(postgres_base_dir: Path) -> Iterator[ValkeyServer]:
    """A Valkey with a random password, stopped by the test to make a dependency unreachable."""
    server = ValkeyServer.start(postgres_base_dir / "valkey", require_password=True)
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def canary_database(postgres_server: EmbeddedPostgres) -> AsyncIterator[tuple[str, str]]:
    """A role whose password is a canary and a database it owns: (DSN, password)."""
    await postgres_server.start()
    suffix = uuid4().hex[:10]
    role, database, password = f"canary_{suffix}", f"canary_{suffix}", _canary("pg")
    admin = await asyncpg.connect(postgres_server.dsn())
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await admin.execute(f"CREATE DATABASE {database} OWNER {role}")
    finally:
        await admin.close()
    dsn = f"postgresql://{role}:{quote(password, safe='')}@127.0.0.1:{postgres_server.port}/"
    try:
        yield dsn + f"{database}?sslmode=disable", password
    finally:
        await postgres_server.drop_database(database)
        admin = await asyncpg.connect(postgres_server.dsn())
        try:
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await admin.close()


# -- the runtime as a process ----------------------------------------------------------------------


@dataclass
class Runtime:
    """An ``onex-infra run`` child process and its output files."""

    process: asyncio.subprocess.Process
    stdout: Path
    stderr: Path
    port: int

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


async def _spawn(workdir: Path, name: str, config: Path, env: dict[str, str]) -> Runtime:
    port = free_port()
    stdout, stderr = workdir / f"{name}.out", workdir / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            CLI,
            "run",
            "--config",
            str(config),
            "--http-port",
            str(port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={
                **os.environ,
                "HOME": str(workdir),
                "COLUMNS": "300",
                "ONEX_INGRESS__PORT": "0",
                "ONEX_DASHBOARD__PORT": "0",
                **env,
            },
        )
    return Runtime(process, stdout, stderr, port)


async def _stop(runtime: Runtime) -> int:
    if runtime.process.returncode is None:
        runtime.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(60):
                await runtime.process.wait()
        except TimeoutError:
            runtime.process.kill()
            await runtime.process.wait()
    assert runtime.process.returncode is not None
    return runtime.process.returncode


async def _until_status(
    http: httpx.AsyncClient, runtime: Runtime, path: str, status: int, within: float
) -> httpx.Response:
    async with asyncio.timeout(within):
        while True:
            if runtime.process.returncode is not None:
                raise AssertionError(f"runtime exited: {runtime.output()[-3000:]}")
            try:
                reply = await http.get(f"http://127.0.0.1:{runtime.port}{path}")
                if reply.status_code == status:
                    return reply
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


def _config(
    workdir: Path,
    name: str,
    *,
    kafka: ModelKafkaSettings,
    openbao: OpenBaoServer,
    role_id: str,
    consul_url: str,
    valkey: ValkeyServer,
    dsn_reference: str = "vault://secret/onex/db#dsn",
) -> Path:
    values: dict[str, object] = {
        "profile": "production",
        "environment": "canary",
        "event_bus": {
            "kind": "kafka",
            "kafka": {
                "bootstrap_servers": kafka.bootstrap_servers,
                "session_timeout_ms": kafka.session_timeout_ms,
                "heartbeat_interval_ms": kafka.heartbeat_interval_ms,
                "fetch_wait_max_ms": kafka.fetch_wait_max_ms,
                "join_timeout_seconds": 120.0,
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "onex",
                "sasl_password": "env://ONEX_CANARY_KAFKA",
            },
            "retry": {"max_attempts": 2, "base_delay_seconds": 0.2},
        },
        "postgres": {"mode": "external", "dsn": dsn_reference, "pool_max_size": 5},
        "discovery": {
            "kind": "consul",
            "consul": {
                "base_url": consul_url,
                "token": "env://ONEX_CANARY_CONSUL",
                "timeout_seconds": 2.0,
            },
        },
        "vault": {
            "url": openbao.url,
            "approle_role_id": role_id,
            "approle_secret_id": "env://ONEX_CANARY_APPROLE",
        },
        "valkey": {
            "host": "127.0.0.1",
            "port": valkey.port,
            "password": "vault://secret/onex/valkey#password",
            "connect_timeout_seconds": 1.0,
            "socket_timeout_seconds": 1.0,
        },
        "registration": {"tick_interval_seconds": 1.0},
        "shutdown_grace_seconds": 15.0,
        "log_level": "DEBUG",
        "log_format": "json",
    }
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


# -- gathering -------------------------------------------------------------------------------------


async def _hub_bodies(http: httpx.AsyncClient, port: int, place: Place) -> None:
    base = f"http://127.0.0.1:{port}"
    for path in (
        "/health",
        "/ready",
        "/metrics",
        "/registry",
        "/registry?after=forged",
        "/registry?limit=0",
        "/registry?state=DROP%20TABLE",
        "/no-such-path",
    ):
        reply = await http.get(base + path)
        place.texts.append(f"{path} {reply.status_code} {dict(reply.headers)} {reply.text}")


async def _database_rows(dsn: str) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        rows: list[str] = []
        for table in tables:
            name = str(table["tablename"])
            rows.extend(
                str(row[0])
                for row in await connection.fetch(f'SELECT row_to_json(t)::text FROM "{name}" AS t')
            )
        return rows
    finally:
        await connection.close()


def _dlq_outside_original_bytes(kafka: ModelKafkaSettings) -> tuple[int, list[str]]:
    entries = read_dlq(kafka, ModelKafkaDlqFilter())
    texts = [
        json.dumps(entry.headers) + repr(entry.key) + repr(entry.record) + entry.dlq_topic
        for entry in entries
    ]
    return len(entries), texts


async def _cli_output(*args: str, env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "COLUMNS": "300",
            "ONEX_INGRESS__PORT": "0",
            "ONEX_DASHBOARD__PORT": "0",
            **(env or {}),
        },
    )
    try:
        async with asyncio.timeout(120):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return f"exit {process.returncode}\n" + output.decode(errors="replace")


# -- the test --------------------------------------------------------------------------------------

_PLACES = (
    "runtime stdout/stderr",
    "failed runs' output",
    "dlq list/replay output",
    "DLQ records (outside original bytes)",
    "hub bodies and /metrics",
    "PostgreSQL rows",
)


@dataclass
class Scenario:
    """What the runs share: servers, settings, secrets by reference, and what was gathered."""

    workdir: Path
    kafka: ModelKafkaSettings
    openbao: OpenBaoServer
    valkey: ValkeyServer
    consul_url: str
    dsn: str
    role_id: str = ""
    env: dict[str, str] = field(default_factory=dict)
    canaries: Canaries = field(default_factory=Canaries)
    places: dict[str, Place] = field(default_factory=lambda: {n: Place(n) for n in _PLACES})
    env_of_failing: dict[str, str] = field(default_factory=dict)

    def config(self, name: str, dsn_reference: str = "vault://secret/onex/db#dsn") -> Path:
        return _config(
            self.workdir,
            name,
            kafka=self.kafka,
            openbao=self.openbao,
            role_id=self.role_id,
            consul_url=self.consul_url,
            valkey=self.valkey,
            dsn_reference=dsn_reference,
        )

    def gather(self, place: str, *texts: str) -> None:
        self.places[place].texts.extend(texts)


async def _plant_secrets(scenario: Scenario, pg_password: str, consul_token: str) -> None:
    """Every slot gets its canary: OpenBao holds the DSN and the Valkey password, the
    environment the AppRole secret id, the Consul token and the Kafka SASL password."""
    canaries, openbao, valkey = scenario.canaries, scenario.openbao, scenario.valkey
    assert valkey.password is not None
    canaries.add("postgres-password", pg_password)
    canaries.add("openbao-root-token", openbao.root_token.get_secret_value())
    canaries.add("valkey-password", valkey.password.get_secret_value())
    canaries.add("consul-token", consul_token)
    await openbao.create_policy("onex-read", _READ_POLICY)
    role_id, secret_id = await openbao.create_approle("onex-runtime", policies=("onex-read",))
    scenario.role_id = role_id
    await openbao.admin("POST", "secret/data/onex/db", {"data": {"dsn": scenario.dsn}})
    valkey_password = valkey.password.get_secret_value()
    await openbao.admin("POST", "secret/data/onex/valkey", {"data": {"password": valkey_password}})
    scenario.env = {
        "ONEX_CANARY_KAFKA": canaries.add("kafka-sasl-password", _canary("kafka")),
        "ONEX_CANARY_CONSUL": consul_token,
        "ONEX_CANARY_APPROLE": canaries.add("approle-secret-id", secret_id.get_secret_value()),
    }


async def _register_and_dead_letter(scenario: Scenario, bus: EventBusKafka) -> NodeFleet:
    """Three nodes register over Kafka; garbage is dead-lettered; an invalid introspection
    is rejected."""
    fleet = NodeFleet(bus, group_id="canary-fleet")
    clients = [
        fleet.add(
            NodeRegistrationClient(
                bus,
                ModelNodeDescription(
                    node_name=f"canary-node-{index}",
                    health_endpoint=f"http://127.0.0.1:{20000 + index}/health",
                ),
                heartbeat_interval_seconds=1.0,
            )
        )
        for index in range(3)
    ]
    await fleet.listen()
    for client in clients:
        await client.start()
    async with asyncio.timeout(120):
        for client in clients:
            await client.active.wait()
    await bus.publish(TOPIC_NODE_INTROSPECTION, b"garbage", b"\x00\xff not an envelope")
    invalid = JsonEnvelope(
        payload={"node_id": str(uuid4()), "node_name": "broken", "node_type": "mainframe"},
        payload_type="ModelNodeIntrospectionEvent",
        correlation_id=uuid4(),
    )
    await bus.publish_envelope(invalid, TOPIC_NODE_INTROSPECTION)

    async def dead_lettered() -> int:  # another process writes the DLQ: read it off the loop
        return (await asyncio.to_thread(_dlq_outside_original_bytes, scenario.kafka))[0]

    await eventually(dead_lettered, "the dead letters", timeout=120, interval=0.5)
    return fleet


async def _outages(
    scenario: Scenario,
    http: httpx.AsyncClient,
    runtime: Runtime,
    fleet: tuple[NodeFleet, EventBusKafka],
    consul: FakeConsulAgent,
) -> None:
    """Valkey stops (``/ready`` 503 with details); the Consul agent stops while a node
    registers (its attempts fail and are retried)."""
    nodes, bus = fleet
    scenario.valkey.stop()
    outage = await _until_status(http, runtime, "/ready", 503, 60)
    scenario.gather("hub bodies and /metrics", outage.text)
    await consul.stop()
    late = nodes.add(NodeRegistrationClient(bus, ModelNodeDescription(node_name="canary-late")))
    await late.start()
    await asyncio.sleep(5)  # let the failing attempts be logged
    await _hub_bodies(http, runtime.port, scenario.places["hub bodies and /metrics"])


async def _failing_starts(scenario: Scenario) -> None:
    """Starts that must fail without naming their credential: a wrong PostgreSQL password, a
    wrong AppRole secret id, and a password holding '/' that breaks the DSN."""
    canaries, dsn = scenario.canaries, scenario.dsn
    password = quote(canaries.values["postgres-password"], safe="")
    wrong = quote(canaries.add("wrong-postgres-password", _canary("wrongpg")), safe="")
    slash = canaries.add("slash-postgres-password", _canary("slash"))
    # Unencoded '/': the DSN's authority ends there, and what precedes it reads as a port.
    slashed = f"{slash[:30]}/{slash[30:]}"
    runs = [
        (
            scenario.config("wrong-pg", "env://ONEX_CANARY_WRONG_DSN"),
            {"ONEX_CANARY_WRONG_DSN": dsn.replace(password, wrong)},
        ),
        (
            scenario.config("wrong-role"),
            {"ONEX_CANARY_APPROLE": canaries.add("wrong-approle", _canary("wrongrole"))},
        ),
        (
            scenario.config("slash-pg", "env://ONEX_CANARY_SLASH_DSN"),
            {"ONEX_CANARY_SLASH_DSN": dsn.replace(password, slashed)},
        ),
    ]
    for index, (config, env) in enumerate(runs):
        scenario.env_of_failing.update(env)
        attempt = await _spawn(scenario.workdir, f"failing-{index}", config, scenario.env | env)
        try:
            async with asyncio.timeout(180):
                code = await attempt.process.wait()
        finally:
            await _stop(attempt)  # ends a run that serves instead of failing
        output = attempt.output()
        scenario.gather("failed runs' output", f"exit {code}\n{output}")
        assert code != 0, output[-2000:]


def _report(scenario: Scenario) -> int:
    """Print the occurrences of every canary form per place; return their total."""
    forms = scenario.canaries.forms()
    total = 0
    for place in scenario.places.values():
        assert place.texts, f"nothing gathered from {place.name}"
        text = "\n".join(place.texts)
        found = {slot: sum(text.count(f) for f in variants) for slot, variants in forms.items()}
        hits = sum(found.values())
        total += hits
        print(f"{place.name:40} {len(text):>9} chars  canary occurrences: {hits}")
        for slot, count in found.items():
            if count:
                print(f"    {slot}: {count}")
    return total


async def test_no_canary_secret_appears_in_any_output(
    postgres_base_dir: Path,
    tansu: TansuServer,
    openbao: OpenBaoServer,
    valkey: ValkeyServer,
    canary_database: tuple[str, str],
) -> None:
    """Every secret slot holds a canary; after registrations, a dead letter, a stopped Valkey,
    a stopped Consul agent and three starts with bad credentials, no canary (raw, encoded, or
    any 8-character piece) is in logs, errors, DLQ records, /metrics, hub bodies or rows."""
    dsn, pg_password = canary_database
    consul_token = _canary("consul")
    consul = FakeConsulAgent(acl_token=consul_token)
    await consul.start()
    scenario = Scenario(
        postgres_base_dir,
        make_kafka_settings(tansu.bootstrap_servers),
        openbao,
        valkey,
        consul.base_url,
        dsn,
    )
    bus = EventBusKafka(scenario.kafka, environment="canary-fleet")
    runtime: Runtime | None = None
    try:
        await _plant_secrets(scenario, pg_password, consul_token)
        runtime = await _spawn(
            scenario.workdir, "runtime", scenario.config("runtime"), scenario.env
        )
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            await _until_status(http, runtime, "/ready", 200, _BOOT_SECONDS)
            await bus.start()
            fleet = await _register_and_dead_letter(scenario, bus)
            await _hub_bodies(http, runtime.port, scenario.places["hub bodies and /metrics"])
            await _outages(scenario, http, runtime, (fleet, bus), consul)
            await fleet.close()
        await _failing_starts(scenario)
        print(f"runtime exit code after SIGTERM: {await _stop(runtime)}")
        scenario.gather("runtime stdout/stderr", runtime.output())
        brokers = ("--bootstrap-servers", tansu.bootstrap_servers)
        scenario.gather("dlq list/replay output", await _cli_output("dlq", "list", *brokers))
        # dlq replay given a DSN through an environment variable: one whose password breaks it.
        slashed = scenario.env_of_failing["ONEX_CANARY_SLASH_DSN"]
        replay = await _cli_output(
            *("dlq", "replay", "--all", *brokers, "--postgres-dsn-env", "ONEX_POSTGRES_DSN"),
            env={"ONEX_POSTGRES_DSN": slashed},
        )
        assert not replay.startswith("exit 0"), replay
        scenario.gather("dlq list/replay output", replay)
        dead, records = await asyncio.to_thread(_dlq_outside_original_bytes, scenario.kafka)
        scenario.gather("DLQ records (outside original bytes)", *records)
        scenario.gather("PostgreSQL rows", *await _database_rows(dsn))
    finally:
        if runtime is not None:
            await _stop(runtime)
        await bus.close()
        await consul.stop()
    print(f"\n{len(scenario.canaries.values)} canaries; {dead} dead letter(s)")
    total = _report(scenario)
    # The places searched saw the traffic they were meant to see.
    assert "canary-node-0" in "\n".join(scenario.places["PostgreSQL rows"].texts)
    assert dead >= 1
    assert total == 0
