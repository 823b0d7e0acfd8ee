"""Per-call cost of the Valkey, Vault and Keycloak handlers against their raw clients (not a test).

    .venv/bin/python benchmarks/bench_secrets_handlers.py [--repeats 5] [--scale 1.0]

Starts a real Valkey, a dev-mode OpenBao and the fake Keycloak on free ports, then times, in the
same run and interleaved (each repeat runs both variants of a pair, in alternating order):

- Valkey GET: ``HandlerValkey.get`` against a bare ``redis.asyncio.Redis.get``;
- Vault KV read: ``HandlerVault.kv_read`` against a bare ``httpx.AsyncClient.get`` of the same
  path with the token header and ``response.json()``;
- JWT validation: ``HandlerKeycloak.validate_token`` (cached JWKS) against a bare
  ``jwt.decode`` with the key already in hand.

Prints, per variant, the median per-call time over repeats with min-max, p50/p99 of individually
timed calls, and the handler/baseline ratio of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
from pydantic import SecretStr
from redis.asyncio import Redis

from bench_pairs import interleaved
from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.valkey.handler_valkey import HandlerValkey
from omnibase_infra.handlers.valkey.model_valkey_settings import ModelValkeySettings
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.testing import FakeKeycloakServer, OpenBaoServer, ValkeyServer

NoArgCall = Callable[[], Awaitable[object]]


async def _pair(
    title: str, baseline: NoArgCall, handler: NoArgCall, calls: int, repeats: int
) -> ModelBenchFigure:
    """Run baseline and handler interleaved; print medians, min-max, p50/p99 and the ratio."""
    times = await interleaved(
        [("baseline", lambda _: baseline()), ("handler", lambda _: handler())],
        calls,
        repeats,
        warm=max(10, calls // 20),
    )
    print(f"\n{title} ({calls} calls x {repeats} repeats)")
    print(f"  {'variant':<10} {'median us':>10} {'min-max us':>18} {'p50 us':>8} {'p99 us':>8}")
    for name in ("baseline", "handler"):
        values = times.means[name]
        print(
            f"  {name:<10} {times.median(name):>10.1f} "
            f"{min(values):>8.1f}-{max(values):<9.1f} "
            f"{times.pct(name, 0.5):>8.1f} {times.pct(name, 0.99):>8.1f}"
        )
    ratio = times.median("handler") / times.median("baseline")
    print(f"  ratio handler/baseline (medians): {ratio:.2f}")
    ratios = times.ratios("handler", "baseline")
    return ModelBenchFigure(
        what=f"{title}: handler vs raw client, per call",
        measured=f"**{ratio:.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}x)",
        baseline=f"raw client {times.median('baseline'):.1f} µs per call",
    )


async def bench_valkey(server: ValkeyServer, calls: int, repeats: int) -> ModelBenchFigure:
    raw = Redis(host=server.host, port=server.port)
    handler = HandlerValkey(ModelValkeySettings(host=server.host, port=server.port))
    await handler.start()
    await raw.set("bench", b"value")
    try:
        return await _pair(
            "Valkey GET", lambda: raw.get("bench"), lambda: handler.get("bench"), calls, repeats
        )
    finally:
        await handler.close()
        await raw.aclose()


async def bench_vault(server: OpenBaoServer, calls: int, repeats: int) -> ModelBenchFigure:
    handler = HandlerVault(ModelVaultSettings(url=server.url, token=server.root_token))
    await handler.start()
    await handler.kv_write("bench/item", {"password": "bench-value"})
    raw = httpx.AsyncClient(base_url=server.url, trust_env=False)
    headers = {"X-Vault-Token": server.root_token.get_secret_value()}

    async def bare() -> object:
        response = await raw.get("/v1/secret/data/bench/item", headers=headers)
        return response.json()

    try:
        return await _pair(
            "Vault KV v2 read", bare, lambda: handler.kv_read("bench/item"), calls, repeats
        )
    finally:
        await handler.close()
        await raw.aclose()


async def bench_jwt(
    fake: FakeKeycloakServer, client_id: str, calls: int, repeats: int
) -> ModelBenchFigure:
    handler = HandlerKeycloak(
        ModelKeycloakSettings(
            issuer_url=fake.issuer,
            audience=["account"],
            client_id=client_id,
            client_secret=fake.client_secrets[client_id],
        )
    )
    await handler.start()
    token = (await handler.client_credentials_token()).access_token.get_secret_value()
    async with httpx.AsyncClient(trust_env=False) as client:
        jwks = (await client.get(f"{fake.issuer}/protocol/openid-connect/certs")).json()
    key = jwt.PyJWK(jwks["keys"][0]).key

    async def bare() -> object:
        return jwt.decode(
            token, key=key, algorithms=["RS256"], audience="account", issuer=fake.issuer
        )

    try:
        return await _pair(
            "JWT validation (RS256, cached key)",
            bare,
            lambda: handler.validate_token(token),
            calls,
            repeats,
        )
    finally:
        await handler.close()


async def main(repeats: int, scale: float) -> None:
    """Start the servers, time each handler against its raw client, record the figures."""
    load_before = load_average()
    print(f"before: {load_line()}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    valkey = ValkeyServer.start(workdir / "valkey")
    vault = OpenBaoServer.start(workdir / "openbao")
    client_id = "bench-client"
    fake = FakeKeycloakServer.start(
        workdir, {client_id: (SecretStr("bench-secret-value"), ["bench"])}
    )
    try:
        figures = [
            await bench_valkey(valkey, int(2000 * scale), repeats),
            await bench_vault(vault, int(500 * scale), repeats),
            await bench_jwt(fake, client_id, int(2000 * scale), repeats),
        ]
    finally:
        fake.stop()
        vault.stop()
        valkey.stop()
    print(f"\nafter: {load_line()}")
    record("bench_secrets_handlers", load_before, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the call counts")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.repeats, arguments.scale))
