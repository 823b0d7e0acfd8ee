"""Resilience of user effects through the runtime, against real servers: a revoked Vault token
refreshed by the runtime (``onex-infra run`` on AppRole), a revoked OIDC service token replaced
by a new client-credentials token, a Valkey cache effect answered by its PostgreSQL fallback
effect, and a two-step effect whose failed second step undoes the first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from process_support import spawned, write_config
from runtime_support import ALLOWLIST, metric_samples
from runtime_testnodes import EFFECTS_DIR
from runtime_testnodes.effects.node_rt_result_audit_orchestrator.handler import RESULTS_SEEN_FILE
from runtime_testnodes.effects.node_rt_vault_read_effect.handler import VAULT_READS_FILE
from runtime_testnodes.files import read_lines
from runtime_testnodes.models import ModelRtSlowWork, ModelRtTransfer
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from omnibase_infra.handlers.http.handler_http import HandlerHttp
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.valkey.handler_valkey import HandlerValkey
from omnibase_infra.handlers.valkey.model_valkey_settings import ModelValkeySettings
from omnibase_infra.testing import eventually
from omnibase_infra.testing.adapter_host import adapter_host
from omnibase_infra.testing.fixtures.oidc import FAKE_KEYCLOAK_CLIENT_ID
from omnibase_infra.testing.servers.asgi_server import AsgiServerThread
from omnibase_infra.testing.servers.keycloak_fake import FakeKeycloakServer
from omnibase_infra.testing.servers.openbao import OpenBaoServer
from omnibase_infra.testing.servers.valkey import ValkeyServer

pytestmark = pytest.mark.integration

VAULT_READ = "onex.cmd.rtest.vault-read.v1"
ITEM_READ = "onex.cmd.rtest.item-read.v1"
ITEM = "onex.evt.rtest.item-read.v1"
TRANSFER = "onex.cmd.rtest.transfer.v1"
OUTCOME = "onex.evt.rtest.transfer-outcome.v1"
API_CALL = "onex.cmd.rtest.api-call.v1"
API_CALLED = "onex.evt.rtest.api-called.v1"
READ_POLICY = 'path "secret/data/rtest/*" { capabilities = ["read"] }'


def _sum(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(value for (sample, _), value in samples.items() if sample == name)


def _effect(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, effect: str
) -> float:
    return samples.get((name, (("effect", effect),)), 0.0)


@dataclass(frozen=True)
class ModelRevocationFigures:
    """What a stream of Vault reads through ``onex-infra run`` cost around a revocation."""

    reads: list[str]
    failed_attempts: float
    refreshes: float
    dead_letters: float


async def _reads_around_a_revocation(
    tmp_path: Path,
    vault: dict[str, object],
    revoke: Callable[[], Awaitable[None]],
    *,
    before: int = 10,
    after: int = 10,
    **env: str,
) -> ModelRevocationFigures:
    """``onex-infra run`` with ``vault`` (the config section) reads a secret once per event,
    one event at a time; ``revoke`` runs after ``before`` of them."""
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "contract_dirs": [str(EFFECTS_DIR / "node_rt_vault_read_effect")],
            "use_entry_points": False,
            "plugin_allowlist": [ALLOWLIST],
            "postgres": {"mode": "disabled"},
            "event_bus": {"retry": None},  # a failed message is dead-lettered at once
            "vault": vault,
        },
    )
    out = tmp_path / "out"
    async with spawned(config, out, **env) as runtime:
        await runtime.until_ready()
        (line,) = runtime.events("ingress without authentication: bound to loopback only")
        hub = httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.port}", trust_env=False)
        ingress = httpx.AsyncClient(base_url=str(line["url"]), trust_env=False)
        async with hub, ingress:

            async def settled(count: int) -> bool:
                samples = metric_samples((await hub.get("/metrics")).text)
                dead = _sum(samples, "onex_dispatch_dead_lettered_total")
                return len(read_lines(out, VAULT_READS_FILE)) + dead >= count

            for work_id in range(before + after):
                if work_id == before:
                    await revoke()
                reply = await ingress.post(
                    f"/v1/events/{VAULT_READ}",
                    params={"payload_type": "ModelRtSlowWork"},
                    json=ModelRtSlowWork(work_id=work_id, key="k").model_dump(),
                )
                assert reply.status_code == 202
                await eventually(lambda n=work_id + 1: settled(n), f"read {work_id} settled")
            samples = metric_samples((await hub.get("/metrics")).text)
    effect = "rt_vault_read_effect"
    attempts = _effect(samples, "onex_effect_attempts_total", effect)
    calls = _effect(samples, "onex_effect_calls_total", effect)
    failures = _effect(samples, "onex_effect_failures_total", effect)
    return ModelRevocationFigures(
        reads=read_lines(out, VAULT_READS_FILE),
        failed_attempts=attempts - (calls - failures),
        refreshes=_effect(samples, "onex_effect_credential_refreshes_total", effect),
        dead_letters=_sum(samples, "onex_dispatch_dead_lettered_total"),
    )


def _report(what: str, figures: ModelRevocationFigures, total: int) -> None:
    print(
        f"\n{what}: 10 reads after the revocation, {figures.failed_attempts:.0f} failed "
        f"attempt(s), {figures.refreshes:.0f} refresh(es), {figures.dead_letters:.0f} dead "
        f"letter(s); {len(figures.reads)} of {total} reads succeeded"
    )


async def test_a_revoked_approle_token_costs_one_failed_call_and_no_dead_letter(
    tmp_path: Path, openbao_server: OpenBaoServer
) -> None:
    """With the runtime on AppRole, revoking its token mid-stream costs one failed attempt and
    one re-login; every later read succeeds and nothing is dead-lettered."""
    await openbao_server.create_policy("rtest-read", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle(
        "rtest-effects", policies=("rtest-read",)
    )
    await openbao_server.admin("POST", "secret/data/rtest/app", {"data": {"value": "v1"}})

    async def revoke() -> None:  # every token AppRole issued
        await openbao_server.admin("PUT", "sys/leases/revoke-prefix/auth/approle/login")

    figures = await _reads_around_a_revocation(
        tmp_path,
        {
            "url": openbao_server.url,
            "approle_role_id": role_id,
            "approle_secret_id": "env://RTEST_VAULT_SECRET_ID",
        },
        revoke,
        RTEST_VAULT_SECRET_ID=secret_id.get_secret_value(),
    )
    _report("revoked Vault token (AppRole)", figures, 20)
    assert figures.dead_letters == 0
    assert figures.failed_attempts == 1
    assert figures.refreshes == 1
    assert figures.reads == [f"{n}:v1" for n in range(20)]


async def test_a_revoked_token_is_read_again_from_its_file_reference(
    tmp_path: Path, openbao_server: OpenBaoServer
) -> None:
    """With ``vault.token: file://...``, a token revoked and replaced in its file mid-stream
    costs one failed attempt: the runtime reads the file again; nothing is dead-lettered."""
    await openbao_server.create_policy("rtest-read", READ_POLICY)
    await openbao_server.admin("POST", "secret/data/rtest/app", {"data": {"value": "v1"}})
    token_file = tmp_path / "vault-token"
    first = await openbao_server.create_token(policies=("rtest-read",))
    token_file.write_text(first.get_secret_value())
    token_file.chmod(0o600)

    async def revoke_and_rotate() -> None:
        await openbao_server.admin("POST", "auth/token/revoke", {"token": first.get_secret_value()})
        rotated = await openbao_server.create_token(policies=("rtest-read",))
        token_file.write_text(rotated.get_secret_value())

    figures = await _reads_around_a_revocation(
        tmp_path,
        {"url": openbao_server.url, "token": f"file://{token_file}"},
        revoke_and_rotate,
    )
    _report("revoked Vault token (file reference, rotated)", figures, 20)
    assert figures.dead_letters == 0
    assert figures.failed_attempts == 1
    assert figures.refreshes == 1
    assert figures.reads == [f"{n}:v1" for n in range(20)]


@pytest_asyncio.fixture
async def rtest_tables(postgres_handler: HandlerPostgres) -> HandlerPostgres:
    """The tables of the fallback and transfer effects, in this test's database."""
    await postgres_handler.execute("CREATE TABLE rtest_items (key text PRIMARY KEY, value text)")
    await postgres_handler.execute(
        "CREATE TABLE rtest_accounts (id text PRIMARY KEY, balance int NOT NULL)"
    )
    await postgres_handler.execute(
        "CREATE TABLE rtest_compensations (account text NOT NULL, amount int NOT NULL)"
    )
    return postgres_handler


@pytest_asyncio.fixture
async def valkey_handler(valkey_server_fresh: ValkeyServer) -> AsyncIterator[HandlerValkey]:
    """A started HandlerValkey on a Valkey of this test's own (the test may stop it)."""
    handler = HandlerValkey(
        ModelValkeySettings(
            host=valkey_server_fresh.host,
            port=valkey_server_fresh.port,
            socket_timeout_seconds=1.0,
            connect_timeout_seconds=1.0,
        )
    )
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


async def test_a_cache_effect_answers_from_its_database_fallback_when_valkey_is_down(
    rtest_tables: HandlerPostgres,
    valkey_handler: HandlerValkey,
    valkey_server_fresh: ValkeyServer,
) -> None:
    """``fallback: {kind: handler, handler: rt_db_read_effect}``: with Valkey up the cache
    answers; with Valkey stopped the database effect answers on the same result topic."""
    await valkey_handler.set("rtest:item:a", b"from-cache")
    await rtest_tables.execute("INSERT INTO rtest_items VALUES ('a', 'from-db')")
    services: dict[type[object], object] = {
        HandlerValkey: valkey_handler,
        HandlerPostgres: rtest_tables,
    }
    dirs = [EFFECTS_DIR / "node_rt_cache_read_effect", EFFECTS_DIR / "node_rt_db_read_effect"]
    async with adapter_host(dirs, services=services, plugin_allowlist=[ALLOWLIST]) as harness:
        await harness.watch(ITEM)
        cached = await harness.request(ITEM_READ, ModelRtSlowWork(work_id=1, key="a"))
        valkey_server_fresh.stop()
        degraded = await harness.request(ITEM_READ, ModelRtSlowWork(work_id=2, key="a"))
    assert (cached.topic, cached.get("value"), cached.get("source")) == (
        ITEM,
        "from-cache",
        "cache",
    )
    assert (degraded.topic, degraded.get("value"), degraded.get("source")) == (
        ITEM,
        "from-db",
        "db",
    )


async def test_a_failed_second_step_runs_the_first_steps_compensation(
    rtest_tables: HandlerPostgres,
) -> None:
    """A transfer whose credit fails (no such account) is refunded: the balance is back, the
    refund is recorded in PostgreSQL, and the outcome event names the failed and undone steps;
    a transfer whose steps all succeed moves the amount."""
    await rtest_tables.execute("INSERT INTO rtest_accounts VALUES ('alice', 100), ('bob', 0)")
    dirs = [EFFECTS_DIR / "node_rt_transfer_effect"]
    services: dict[type[object], object] = {HandlerPostgres: rtest_tables}
    async with adapter_host(dirs, services=services, plugin_allowlist=[ALLOWLIST]) as harness:
        await harness.watch(OUTCOME)
        failed = await harness.request(
            TRANSFER, ModelRtTransfer(source="alice", target="nobody", amount=30)
        )
        done = await harness.request(
            TRANSFER, ModelRtTransfer(source="alice", target="bob", amount=40)
        )
    assert failed.topic == OUTCOME
    assert failed.get("succeeded") is False
    assert failed.get("failed_step") == "credit"
    assert failed.get("compensated_steps") == ["debit"]
    assert "no account nobody" in str(failed.get("error"))
    assert done.get("succeeded") is True
    assert done.get("completed_steps") == ["debit", "credit"]
    balances = dict(await rtest_tables.fetch("SELECT id, balance FROM rtest_accounts"))
    assert balances == {"alice": 60, "bob": 40}
    refunds = await rtest_tables.fetch("SELECT account, amount FROM rtest_compensations")
    assert [tuple(row) for row in refunds] == [("alice", 30)]


class RevokingApi:
    """An API that answers ``/items/<key>`` to bearer tokens it has not been told to revoke."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.revoked: set[str] = set()
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """401 for a missing or revoked token, else 200 with the key."""
        headers = dict(scope.get("headers", []))
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        self.seen.add(token)
        if not token or token in self.revoked:
            self.rejected += 1
            response = PlainTextResponse("revoked", status_code=401)
        else:
            response = PlainTextResponse(f"item-{scope['path'].rsplit('/', 1)[-1]}")
        await response(scope, receive, send)


async def test_an_api_rejecting_the_service_token_gets_a_new_client_credentials_token(
    keycloak_fake: FakeKeycloakServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``credential_refresh: oidc``: when the API starts rejecting the runtime's cached service
    token, the runtime fetches a new one and the call succeeds; one rejection, no dead letter."""
    api = RevokingApi()
    server = AsgiServerThread(api, name="revoking-api")
    await asyncio.to_thread(server.start)
    monkeypatch.setenv("RTEST_API_URL", server.base_url)
    oidc = HandlerKeycloak(
        ModelKeycloakSettings(
            issuer_url=keycloak_fake.issuer,
            audience=["account"],
            client_id=FAKE_KEYCLOAK_CLIENT_ID,
            client_secret=keycloak_fake.client_secrets[FAKE_KEYCLOAK_CLIENT_ID],
        )
    )
    http = HandlerHttp(ModelHttpClientSettings())
    await oidc.start()
    await http.start()
    services: dict[type[object], object] = {HandlerKeycloak: oidc, HandlerHttp: http}
    try:
        dirs = [EFFECTS_DIR / "node_rt_api_call_effect"]
        async with adapter_host(dirs, services=services, plugin_allowlist=[ALLOWLIST]) as harness:
            await harness.watch(API_CALLED)
            first = await harness.request(API_CALL, ModelRtSlowWork(work_id=1, key="a"))
            api.revoked |= api.seen  # the provider revoked every token issued so far
            after = [
                await harness.request(API_CALL, ModelRtSlowWork(work_id=n, key=f"k{n}"))
                for n in range(2, 7)
            ]
    finally:
        await http.close()
        await oidc.close()
        await asyncio.to_thread(server.stop)
    assert first.topic == API_CALLED
    assert [reply.topic for reply in after] == [API_CALLED] * 5
    assert [reply.get("value") for reply in after] == [f"item-k{n}" for n in range(2, 7)]
    print(f"\nrevoked OIDC service token: {api.rejected} rejected call(s), 0 dead letters")
    assert api.rejected == 1


async def test_run_serves_a_handler_fallback_and_compensation_from_contracts(
    tmp_path: Path,
    rtest_tables: HandlerPostgres,
    postgres_dsn: str,
    valkey_handler: HandlerValkey,
    valkey_server_fresh: ValkeyServer,
) -> None:
    """``onex-infra run`` on Valkey and PostgreSQL starts with a handler fallback and a
    multi-step contract: the cache answers, a failed transfer is refunded and its outcome
    published, and with Valkey stopped the database effect answers instead."""
    await valkey_handler.set("rtest:item:a", b"from-cache")
    await rtest_tables.execute("INSERT INTO rtest_items VALUES ('a', 'from-db')")
    await rtest_tables.execute("INSERT INTO rtest_accounts VALUES ('alice', 100)")
    nodes = [
        "node_rt_cache_read_effect",
        "node_rt_db_read_effect",
        "node_rt_transfer_effect",
        "node_rt_result_audit_orchestrator",
    ]
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "contract_dirs": [str(EFFECTS_DIR / node) for node in nodes],
            "use_entry_points": False,
            "plugin_allowlist": [ALLOWLIST],
            "postgres": {"mode": "external", "dsn": "env://RTEST_PG_DSN"},
            "valkey": {
                "host": valkey_server_fresh.host,
                "port": valkey_server_fresh.port,
                "socket_timeout_seconds": 1.0,
                "connect_timeout_seconds": 1.0,
            },
            "event_bus": {"retry": None},
        },
    )
    out = tmp_path / "out"

    def seen(topic: str) -> list[list[str]]:
        lines = [line.split() for line in read_lines(out, RESULTS_SEEN_FILE)]
        return [fields[1:] for fields in lines if fields[0] == topic]

    async with spawned(config, out, RTEST_PG_DSN=postgres_dsn) as runtime:
        await runtime.until_ready()
        (line,) = runtime.events("ingress without authentication: bound to loopback only")
        async with httpx.AsyncClient(base_url=str(line["url"]), trust_env=False) as ingress:

            async def send(topic: str, payload: ModelRtSlowWork | ModelRtTransfer) -> None:
                reply = await ingress.post(
                    f"/v1/events/{topic}",
                    params={"payload_type": type(payload).__name__},
                    json=payload.model_dump(),
                )
                assert reply.status_code == 202

            await send(ITEM_READ, ModelRtSlowWork(work_id=1, key="a"))
            await eventually(lambda: seen(ITEM), "the cached item")
            await send(TRANSFER, ModelRtTransfer(source="alice", target="nobody", amount=30))
            await eventually(lambda: seen(OUTCOME), "the transfer's outcome")
            valkey_server_fresh.stop()
            await send(ITEM_READ, ModelRtSlowWork(work_id=2, key="a"))
            await eventually(lambda: len(seen(ITEM)) == 2, "the item read after Valkey stopped")
    assert seen(ITEM) == [["a", "from-cache", "cache"], ["a", "from-db", "db"]]
    assert seen(OUTCOME) == [["credit", "debit"]]
    assert await rtest_tables.fetchval("SELECT balance FROM rtest_accounts") == 100
    refunds = await rtest_tables.fetch("SELECT account, amount FROM rtest_compensations")
    assert [tuple(row) for row in refunds] == [("alice", 30)]
