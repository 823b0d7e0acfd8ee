"""A documented fake of Keycloak's OIDC endpoints for the client_credentials grant, and of
the admin REST API's role calls (``keycloak_fake_admin``).

Keycloak itself cannot be installed here, and the real OIDC provider we run
(``oidc-provider-mock``) has no client_credentials grant, so this fake covers that one path. It
follows Keycloak's documented behaviour (Server Administration Guide, "Service accounts";
Securing Applications, "OpenID Connect endpoints") and RFC 6749 section 4.4, for realm ``R``:

- ``GET /realms/R/.well-known/openid-configuration``: issuer ``<base>/realms/R``, the token
  endpoint, ``jwks_uri``, ``grant_types_supported: [client_credentials]``.
- ``GET /realms/R/protocol/openid-connect/certs``: the RS256 signing key as a JWKS.
- ``POST /realms/R/protocol/openid-connect/token``: form ``grant_type=client_credentials``
  (optional ``scope``), client authenticated by HTTP Basic (``client_secret_basic``, id and
  secret form-urlencoded first, RFC 6749 section 2.3.1) or by ``client_id``/``client_secret``
  form fields (``client_secret_post``). Success: 200 ``{"access_token", "expires_in",
  "refresh_expires_in": 0, "token_type": "Bearer", "not-before-policy": 0, "scope"}``, no
  refresh token. Errors (RFC 6749 section 5.2, Keycloak's descriptions): unknown client or wrong
  secret 401 ``invalid_client``; another grant 400 ``unsupported_grant_type``; no grant 400
  ``invalid_request``.
- The access token is an RS256 JWT shaped like Keycloak's service-account tokens: ``iss``,
  ``sub`` (the service-account user id), ``aud: "account"``, ``azp`` and ``clientId`` (the
  client), ``typ: "Bearer"``, ``preferred_username: "service-account-<client>"``, ``scope``,
  ``realm_access.roles``, ``resource_access`` (``realm-management`` roles of the service
  account: its admin API permissions), ``exp``, ``iat``, ``jti``.

Set-up comes from a ``0600`` JSON file (``--config``): ``{"realm": "...", "token_lifetime_seconds":
300, "clients": {"<id>": {"secret": "...", "roles": ["..."], "admin_roles": ["manage-users"]}},
"realm_roles": [...], "client_roles": {"<clientId>": [...]}, "users": {"<username>": "<id>"}}``.
Tests that can reach a real Keycloak can point the handler at it instead; nothing in the
handler knows this is a fake.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.keycloak_fake_admin import (
    REALM_MANAGEMENT,
    REALM_MANAGEMENT_ROLES,
    FakeKeycloakAdmin,
)
from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError

__all__ = ["FakeKeycloakServer", "ModelFakeKeycloakClient", "ModelFakeKeycloakConfig", "build_app"]


class ModelFakeKeycloakClient(BaseModel):
    """A confidential client with service accounts enabled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: str = Field(min_length=1, repr=False)
    roles: list[str] = Field(default_factory=list)
    admin_roles: list[str] = Field(
        default_factory=list, description="its service account's realm-management roles"
    )


class ModelFakeKeycloakConfig(BaseModel):
    """The fake's realm, token lifetime and clients."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    realm: str = Field(default="onex", pattern=r"^[A-Za-z0-9_-]+$")
    token_lifetime_seconds: int = Field(default=300, ge=1)
    clients: dict[str, ModelFakeKeycloakClient] = Field(default_factory=dict)
    realm_roles: list[str] = Field(default_factory=list)
    client_roles: dict[str, list[str]] = Field(default_factory=dict)
    users: dict[str, str] = Field(default_factory=dict, description="username -> user id")


def build_app(config: ModelFakeKeycloakConfig) -> Starlette:
    """The fake's ASGI app, with a fresh RSA signing key."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex
    public_jwk: dict[str, JsonValue] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    public_jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    realm_path = f"/realms/{config.realm}"
    service_account_ids = {client_id: str(uuid.uuid4()) for client_id in config.clients}
    admin = _admin_state(config, service_account_ids)

    def issuer(request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}{realm_path}"

    async def discovery(request: Request) -> Response:
        base = issuer(request)
        return JSONResponse(
            {
                "issuer": base,
                "token_endpoint": f"{base}/protocol/openid-connect/token",
                "jwks_uri": f"{base}/protocol/openid-connect/certs",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    async def certs(_: Request) -> Response:
        return JSONResponse({"keys": [public_jwk]})

    def oauth_error(status: int, error: str, description: str) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="fake"'} if status == 401 else None
        return JSONResponse(
            {"error": error, "error_description": description}, status_code=status, headers=headers
        )

    async def token(request: Request) -> Response:
        # application/x-www-form-urlencoded, parsed here (no multipart support needed).
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        grant_type = form.get("grant_type")
        client_id, client_secret = _client_credentials(request, form)
        client = config.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.secret, client_secret or ""):
            return oauth_error(
                401, "invalid_client", "Invalid client or Invalid client credentials"
            )
        if not grant_type:
            return oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
        if grant_type != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
        now = int(time.time())
        scope = "profile email"
        requested = form.get("scope")
        if requested:
            scope = f"{requested} {scope}"
        claims: dict[str, JsonValue] = {
            "exp": now + config.token_lifetime_seconds,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": issuer(request),
            "aud": "account",
            "sub": service_account_ids[client_id or ""],
            "typ": "Bearer",
            "azp": client_id,
            "clientId": client_id,
            "preferred_username": f"service-account-{client_id}",
            "scope": scope,
            "realm_access": {"roles": list(client.roles)},
            "resource_access": {REALM_MANAGEMENT: {"roles": list(client.admin_roles)}},
        }
        access_token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})
        return JSONResponse(
            {
                "access_token": access_token,
                "expires_in": config.token_lifetime_seconds,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": scope,
            }
        )

    def verify(token: str) -> dict[str, JsonValue]:
        # The admin API takes tokens of the realm it manages; the issuer is its own URL.
        claims: dict[str, JsonValue] = jwt.decode(
            token,
            private_key.public_key(),
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_iss": False, "require": ["exp", "iss"]},
        )
        if not str(claims["iss"]).endswith(realm_path):
            raise jwt.InvalidIssuerError("another realm")
        return claims

    return Starlette(
        routes=[
            Route(f"{realm_path}/.well-known/openid-configuration", discovery),
            Route(f"{realm_path}/protocol/openid-connect/certs", certs),
            Route(f"{realm_path}/protocol/openid-connect/token", token, methods=["POST"]),
            *admin.routes(f"/admin{realm_path}", verify),
        ]
    )


def _admin_state(
    config: ModelFakeKeycloakConfig, service_account_ids: dict[str, str]
) -> FakeKeycloakAdmin:
    """The realm as the admin API sees it: roles, clients (realm-management among them),
    users (service accounts among them) and their role grants."""
    admin = FakeKeycloakAdmin(config.realm)
    admin.add_client(REALM_MANAGEMENT, list(REALM_MANAGEMENT_ROLES))
    for name in config.realm_roles:
        admin.add_realm_role(name)
    for client_id, client in config.clients.items():
        admin.add_client(client_id, [])
        admin.add_user(f"service-account-{client_id}", service_account_ids[client_id])
        for name in client.roles:
            admin.add_realm_role(name)
    for client_id, roles in config.client_roles.items():
        admin.add_client(client_id, roles)
    for username, user_id in config.users.items():
        admin.add_user(username, user_id)
    return admin


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The client id and secret from HTTP Basic (form-urlencoded parts) or the form."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        user, _, password = decoded.partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id"), form.get("client_secret")


@dataclass
class FakeKeycloakServer:
    """A running fake; ``issuer`` is ``<base>/realms/<realm>``."""

    base_url: str
    issuer: str
    realm: str
    client_secrets: dict[str, SecretStr]
    process: ManagedProcess
    user_ids: dict[str, str]  # username -> id

    @classmethod
    def start(
        cls,
        workdir: Path,
        clients: dict[str, tuple[SecretStr, list[str]]],
        *,
        realm: str = "onex",
        token_lifetime_seconds: int = 300,
        startup_timeout_seconds: float = 20.0,
        admin_roles: dict[str, list[str]] | None = None,
        realm_roles: list[str] | None = None,
        client_roles: dict[str, list[str]] | None = None,
        users: list[str] | None = None,
    ) -> FakeKeycloakServer:
        """Start the fake with ``clients`` (id -> (secret, realm roles)) in its own process.

        ``admin_roles`` gives a client's service account realm-management roles (admin API
        permissions); ``realm_roles``, ``client_roles`` (clientId -> roles) and ``users``
        (usernames, given fresh ids) populate the realm for the admin API.
        """
        granted = admin_roles or {}
        config = ModelFakeKeycloakConfig(
            realm=realm,
            token_lifetime_seconds=token_lifetime_seconds,
            clients={
                client_id: ModelFakeKeycloakClient(
                    secret=secret.get_secret_value(),
                    roles=roles,
                    admin_roles=granted.get(client_id, []),
                )
                for client_id, (secret, roles) in clients.items()
            },
            realm_roles=realm_roles or [],
            client_roles=client_roles or {},
            users={username: str(uuid.uuid4()) for username in users or []},
        )
        for secret, _ in clients.values():
            register_secret(secret.get_secret_value())
        config_path = workdir / "fake-keycloak.json"
        config_path.touch(mode=0o600)
        config_path.write_text(config.model_dump_json())
        last_error: ServerStartError | None = None
        for attempt in range(3):
            port = free_port()
            process = ManagedProcess(
                "fake-keycloak",
                [
                    sys.executable,
                    "-m",
                    "omnibase_infra.testing.servers.keycloak_fake",
                    "--port",
                    str(port),
                    "--config",
                    str(config_path),
                ],
                log_path=workdir / f"fake-keycloak-{port}-{attempt}.log",
                cwd=workdir,
            )
            process.start()
            base_url = f"http://127.0.0.1:{port}"
            issuer = f"{base_url}/realms/{realm}"
            try:
                process.wait_ready(
                    functools.partial(_discoverable, issuer), startup_timeout_seconds
                )
            except ServerStartError as e:
                process.stop()
                last_error = e
                continue
            return cls(
                base_url=base_url,
                issuer=issuer,
                realm=realm,
                client_secrets={client_id: secret for client_id, (secret, _) in clients.items()},
                process=process,
                user_ids=dict(config.users),
            )
        raise last_error or ServerStartError("the fake Keycloak did not start")

    def stop(self) -> None:
        """Stop the fake by its PID."""
        self.process.stop()


def _discoverable(issuer: str) -> bool:
    response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1.0, trust_env=False)
    return response.status_code == 200


def main() -> None:
    """Serve the fake on 127.0.0.1 (entry point of the server process)."""
    parser = argparse.ArgumentParser(description="Fake Keycloak (client_credentials only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    config = ModelFakeKeycloakConfig.model_validate_json(args.config.read_text())
    uvicorn.run(
        build_app(config), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
