"""Round trip of each adapter node (cmd in -> evt out, in-memory bus) against the raw client
call it wraps (not a test).

    .venv/bin/python benchmarks/bench_adapters.py [--calls 1000] [--repeats 5] [--only postgres]

Per adapter, times interleaved (every repeat runs both variants, alternating which goes first),
each call awaited before the next:

- postgres: the packaged ``server_version`` operation through ``node_postgres_adapter_effect``
  (a runtime host on the in-memory bus: command published, result event received) vs the same
  SQL through a bare ``asyncpg`` pool on the same embedded server (fsync off);
- vault: a KV v2 read through ``node_vault_adapter_effect`` vs the same ``GET`` with a bare
  ``httpx.AsyncClient`` on the same OpenBao dev server;
- keycloak: a user's realm roles through ``node_keycloak_adapter_effect`` vs the same admin API
  ``GET`` with a bare ``httpx.AsyncClient`` and the same token, on the fake Keycloak.

Prints per variant the median per-call time over repeats (min-max), p50/p99 of individually
timed calls, the node/raw ratios of the medians and of the p50s (target: <= 1.5), and the
machine's load average before and after (absolute times on a shared machine move with it).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
from pathlib import Path

import asyncpg
import httpx
from pydantic import SecretStr

from bench_pairs import Call, interleaved
from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_lookup import (
    ModelKeycloakRoleLookup,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_run_operations import (
    ModelPostgresRunOperations,
)
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_kv_command import (
    ModelVaultKvCommand,
)
from omnibase_infra.testing.adapter_host import adapter_host
from omnibase_infra.testing.servers.keycloak_fake import FakeKeycloakServer
from omnibase_infra.testing.servers.openbao import OpenBaoServer

NODES = Path(__file__).parents[1] / "src/omnibase_infra/nodes"
TARGET_RATIO = 1.5
PG_SQL = "SELECT current_setting('server_version') AS version"


async def _pair(
    label: str, node_call: Call, raw_call: Call, calls: int, repeats: int
) -> ModelBenchFigure:
    times = await interleaved(
        [("node", node_call), ("raw", raw_call)], calls, repeats, warm=max(10, calls // 10)
    )
    for name in ("raw", "node"):
        print(
            f"{label:<10} {name:<5} median {times.median(name):8.1f} µs "
            f"(min {min(times.means[name]):8.1f}, max {max(times.means[name]):8.1f})  "
            f"p50 {times.pct(name, 0.5):8.1f}  p99 {times.pct(name, 0.99):8.1f}"
        )
    print(
        f"{label:<10} ratio node/raw: medians {times.median('node') / times.median('raw'):.2f}, "
        f"p50 {times.pct('node', 0.5) / times.pct('raw', 0.5):.2f}  ({load_line()})\n"
    )
    ratios = times.ratios("node", "raw")
    ratio = statistics.median(ratios)
    return ModelBenchFigure(
        what=f"{label} adapter node round trip, cmd in -> evt out (in-memory bus) vs raw client",
        measured=f"**{ratio:.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}x), "
        f"{times.median('node'):.0f} µs per call",
        baseline=f"raw client {times.median('raw'):.0f} µs per call",
        target=f"<= {TARGET_RATIO}x",
        met=ratio <= TARGET_RATIO,
    )


async def bench_postgres(calls: int, repeats: int) -> ModelBenchFigure:
    base_dir = Path(tempfile.mkdtemp(prefix="onex-adapter-bench-"))
    server = EmbeddedPostgres(base_dir, fast=True)
    await server.start()
    try:
        await server.create_database("bench")
        handler = HandlerPostgres(server.settings("bench", pool_min_size=4, pool_max_size=4))
        await handler.start()
        pool = await asyncpg.create_pool(server.dsn("bench"), min_size=4, max_size=4)
        command = ModelPostgresRunOperations.model_validate(
            {"operations": [{"operation": "server_version"}]}
        )
        try:
            async with adapter_host(
                [NODES / "node_postgres_adapter_effect"], services={HandlerPostgres: handler}
            ) as harness:
                await harness.watch("onex.evt.postgres-adapter.operations-completed.v1")

                async def node(_: int) -> object:
                    reply = await harness.request(
                        "onex.cmd.postgres-adapter.run-operations.v1", command
                    )
                    assert reply.topic.endswith("operations-completed.v1"), reply.topic
                    return reply

                async def raw(_: int) -> object:
                    return await pool.fetch(PG_SQL)

                return await _pair("postgres", node, raw, calls, repeats)
        finally:
            await pool.close()
            await handler.close()
    finally:
        await server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


async def bench_vault(calls: int, repeats: int) -> ModelBenchFigure:
    workdir = Path(tempfile.mkdtemp(prefix="onex-adapter-bench-bao-"))
    server = await asyncio.to_thread(OpenBaoServer.start, workdir)
    try:
        settings = ModelVaultSettings.model_validate(
            {"url": server.url, "token": server.root_token}
        )
        handler = HandlerVault(settings)
        await handler.start()
        path = "onex/bench/secret"
        await handler.kv_write(path, {"user": "svc", "password": "bench"})
        command = ModelVaultKvCommand.model_validate({"action": "read", "path": path})
        async with (
            httpx.AsyncClient(
                base_url=server.url, headers={"X-Vault-Token": server.root_token.get_secret_value()}
            ) as client,
            adapter_host(
                [NODES / "node_vault_adapter_effect"], services={HandlerVault: handler}
            ) as harness,
        ):
            await harness.watch("onex.evt.vault-adapter.kv-completed.v1")

            async def node(_: int) -> object:
                reply = await harness.request("onex.cmd.vault-adapter.kv.v1", command)
                assert reply.topic.endswith("kv-completed.v1"), reply.topic
                return reply

            async def raw(_: int) -> object:
                response = await client.get(f"/v1/secret/data/{path}")
                response.raise_for_status()
                return response.json()

            figure = await _pair("vault", node, raw, calls, repeats)
        await handler.close()
        return figure
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def bench_keycloak(calls: int, repeats: int) -> ModelBenchFigure:
    workdir = Path(tempfile.mkdtemp(prefix="onex-adapter-bench-kc-"))
    secret = SecretStr("bench-secret")
    server = await asyncio.to_thread(
        FakeKeycloakServer.start,
        workdir,
        {"bench": (secret, [])},
        admin_roles={"bench": ["view-users"]},
        users=["alice"],
    )
    try:
        handler = HandlerKeycloak(
            ModelKeycloakSettings(issuer_url=server.issuer, client_id="bench", client_secret=secret)
        )
        await handler.start()
        user_id = server.user_ids["alice"]
        token = (await handler.client_credentials_token()).authorization_header()
        command = ModelKeycloakRoleLookup.model_validate(
            {"lookup": "user_realm_roles", "user_id": user_id}
        )
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers={"authorization": token}) as client,
            adapter_host(
                [NODES / "node_keycloak_adapter_effect"], services={HandlerKeycloak: handler}
            ) as harness,
        ):
            await harness.watch("onex.evt.keycloak-adapter.roles-found.v1")

            async def node(_: int) -> object:
                reply = await harness.request("onex.cmd.keycloak-adapter.role-lookup.v1", command)
                assert reply.topic.endswith("roles-found.v1"), reply.topic
                return reply

            async def raw(_: int) -> object:
                path = f"/admin/realms/{server.realm}/users/{user_id}/role-mappings/realm"
                response = await client.get(path)
                response.raise_for_status()
                return response.json()

            figure = await _pair("keycloak", node, raw, calls, repeats)
        await handler.close()
        return figure
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def main(calls: int, repeats: int, only: str | None) -> None:
    load_before = load_average()
    print(f"calls per repeat: {calls}, repeats: {repeats} (interleaved); before: {load_line()}\n")
    figures: list[ModelBenchFigure] = []
    if only in (None, "postgres"):
        figures.append(await bench_postgres(calls, repeats))
    if only in (None, "vault"):
        figures.append(await bench_vault(calls, repeats))
    if only in (None, "keycloak"):
        figures.append(await bench_keycloak(calls, repeats))
    print(f"after: {load_line()}")
    if only is None:  # a partial run would drop the other adapters' rows from the results
        record("bench_adapters", load_before, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("postgres", "vault", "keycloak"), default=None)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.repeats, args.only))
