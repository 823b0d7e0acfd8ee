"""A real OpenID Connect provider for tests (``oidc-provider-mock``), standing in for Keycloak.

``python -m oidc_provider_mock --host 127.0.0.1 --port P``: discovery, JWKS (RS256, a fresh key
each start), the authorization code flow and ID tokens. It has no client_credentials grant;
``servers.keycloak_fake`` covers that. Ready when the discovery document answers. Its issuer is
the host the request used, so asking through ``localhost`` instead of ``127.0.0.1`` yields a
correctly signed token with another issuer.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import JsonValue

from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError

__all__ = ["OidcProviderServer"]

_REDIRECT_URI = "http://127.0.0.1/callback"


@dataclass
class OidcProviderServer:
    """A running ``oidc-provider-mock``; ``issuer`` is its base URL."""

    issuer: str
    port: int
    workdir: Path
    token_max_age_seconds: int
    process: ManagedProcess
    _starts: int = field(default=1, repr=False)

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        token_max_age_seconds: int = 3600,
        port: int | None = None,
        startup_timeout_seconds: float = 30.0,
    ) -> OidcProviderServer:
        """Start the provider (on ``port`` or a free one) and wait for its discovery document."""
        if importlib.util.find_spec("oidc_provider_mock") is None:
            raise ServerStartError("install the dev extra (oidc-provider-mock)")
        chosen = port if port is not None else free_port()
        process = _launch(workdir, chosen, token_max_age_seconds, attempt=0)
        issuer = f"http://127.0.0.1:{chosen}"
        process.wait_ready(functools.partial(_discoverable, issuer), startup_timeout_seconds)
        return cls(
            issuer=issuer,
            port=chosen,
            workdir=workdir,
            token_max_age_seconds=token_max_age_seconds,
            process=process,
        )

    def restart(self, startup_timeout_seconds: float = 30.0) -> None:
        """Stop and start again on the same port: the provider signs with a new key."""
        self.process.stop()
        self.process = _launch(
            self.workdir, self.port, self.token_max_age_seconds, attempt=self._starts
        )
        self._starts += 1
        self.process.wait_ready(
            functools.partial(_discoverable, self.issuer), startup_timeout_seconds
        )

    def stop(self) -> None:
        """Stop the provider by its PID."""
        self.process.stop()

    async def set_claims(self, subject: str, claims: dict[str, JsonValue]) -> None:
        """Give ``subject`` these extra claims (``realm_access``...) in the tokens issued next;
        a restart forgets them."""
        async with httpx.AsyncClient(base_url=self.issuer, trust_env=False) as client:
            reply = await client.put(f"/users/{subject}", json=claims)
        reply.raise_for_status()

    async def issue_tokens(
        self,
        subject: str,
        *,
        client_id: str,
        client_secret: str = "any-secret",  # noqa: S107 - the mock accepts any secret
        scope: str = "openid email",
        host: str = "127.0.0.1",
    ) -> dict[str, str]:
        """Run the authorization code flow for ``subject``; returns the token response
        (``id_token``, ``access_token``...). ``host`` picks the issuer the tokens carry."""
        base = f"http://{host}:{self.port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
            authorize = await client.post(
                "/oauth2/authorize",
                params={
                    "client_id": client_id,
                    "redirect_uri": _REDIRECT_URI,
                    "response_type": "code",
                    "scope": scope,
                    "state": "test",
                },
                data={"sub": subject},
            )
            location = authorize.headers.get("location", "")
            codes = parse_qs(urlsplit(location).query).get("code")
            if authorize.status_code != 302 or not codes:
                raise RuntimeError(f"authorization failed with HTTP {authorize.status_code}")
            token = await client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": codes[0],
                    "redirect_uri": _REDIRECT_URI,
                    "client_id": client_id,
                    "client_secret": client_secret,
                },
            )
        token.raise_for_status()
        body: dict[str, object] = token.json()
        return {key: value for key, value in body.items() if isinstance(value, str)}


def _launch(
    workdir: Path, port: int, token_max_age_seconds: int, *, attempt: int
) -> ManagedProcess:
    process = ManagedProcess(
        "oidc-provider-mock",
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--token-max-age",
            str(token_max_age_seconds),
        ],
        log_path=workdir / f"oidc-{port}-{attempt}.log",
        cwd=workdir,
    )
    process.start()
    return process


def _discoverable(issuer: str) -> bool:
    """One discovery round trip."""
    response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1.0, trust_env=False)
    return response.status_code == 200
