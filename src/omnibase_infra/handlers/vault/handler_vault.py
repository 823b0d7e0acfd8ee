"""Vault/OpenBao handler: KV v2 secrets, token or AppRole auth, renewal and credential refresh.

Speaks Vault's HTTP API over ``httpx.AsyncClient`` (``hvac`` is synchronous and would block the
event loop) through ``VaultTransport`` (``transport.py``: the client, bodies, statuses); this
module holds what is Vault's: KV v2 and the token's lifecycle. Errors are translated as in
``httpx_support``; in addition a 404 on a KV read is "no such secret" (``None``), a rejected
AppRole login is an ``InfraAuthenticationError``, and a sealed or standby server (503/429) is an
``InfraUnavailableError``.

The token is a ``SecretStr``, registered with the sanitiser as soon as it is known, sent only in
the ``X-Vault-Token`` header, and never written to an error, a log line or a repr. A rejected
token raises ``InfraAuthenticationError``; the effect executor then calls
:meth:`HandlerVault.refresh_credentials` and retries once. A token about to expire is renewed
(or, with AppRole, replaced by a new login) before the request that would have failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
from pydantic import JsonValue, SecretStr

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.handlers.vault.model_vault_secret import ModelVaultSecret
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.handlers.vault.token_lease import VaultTokenLease
from omnibase_infra.handlers.vault.transport import VaultTransport
from omnibase_infra.handlers.vault.wire import as_object, json_or_empty, vault_path
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import register_secret

__all__ = ["HandlerVault", "TokenSource"]

# Reads the configured token again (its secret reference): a rotated token is picked up.
TokenSource = Callable[[], Awaitable[SecretStr]]

_log = get_logger(__name__)
_TOKEN_HEADER = "X-Vault-Token"  # noqa: S105 - a header name, not a credential


class HandlerVault:
    """KV v2 and token lifecycle against one Vault/OpenBao server (``ProtocolInfraHandler``)."""

    def __init__(
        self,
        settings: ModelVaultSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self._settings = settings
        self._token_source = token_source
        self._http = VaultTransport(settings, transport)
        self._lease = VaultTokenLease(settings.token)
        self._auth_lock = asyncio.Lock()
        if settings.approle_secret_id is not None:
            register_secret(settings.approle_secret_id.get_secret_value())

    def __repr__(self) -> str:
        return f"HandlerVault(target={self._settings.target_name!r})"

    @property
    def handler_name(self) -> str:
        """``vault``."""
        return "vault"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``VAULT``."""
        return EnumInfraTransportType.VAULT

    @property
    def settings(self) -> ModelVaultSettings:
        """The settings this handler was built with (secrets stay ``SecretStr``)."""
        return self._settings

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client and authenticate: AppRole login, or a lookup of the given token."""
        self._http.open()
        if self._settings.uses_approle:
            await self.login_approle()
        elif self._lease.token is not None:
            await self._lookup_self()

    async def ping(self) -> ModelHealthCheckResult:
        """``GET sys/health``: healthy when the server is initialised, unsealed and serving."""
        started = time.perf_counter()
        try:
            response = await self._send(
                "GET",
                "/v1/sys/health",
                operation="ping",
                params={"standbyok": "true", "perfstandbyok": "true"},
                authenticated=False,
                raise_for_status=False,
            )
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, _elapsed_ms(started))
        latency = _elapsed_ms(started)
        if response.status_code == 200:
            return ModelHealthCheckResult(name=self.handler_name, healthy=True, latency_ms=latency)
        body = json_or_empty(response)
        states = [name for name in ("sealed", "standby") if body.get(name) is True]
        if body.get("initialized") is False:
            states.append("not initialized")
        detail = f"HTTP {response.status_code}" + (f" ({', '.join(states)})" if states else "")
        return ModelHealthCheckResult(
            name=self.handler_name, healthy=False, latency_ms=latency, detail=detail
        )

    async def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        await self._http.close()

    # -- KV v2 -------------------------------------------------------------------------------

    async def kv_read(
        self, path: str, *, mount: str | None = None, version: int | None = None
    ) -> ModelVaultSecret | None:
        """Read a secret (its latest or a given version); ``None`` when there is none."""
        mount = self._mount(mount)
        params = {"version": str(version)} if version is not None else None
        response = await self._send(
            "GET",
            f"/v1/{mount}/data/{vault_path(path)}",
            operation="kv_read",
            params=params,
            not_found_ok=True,
        )
        if response.status_code == 404:
            return None
        data = as_object(self._reply(response, "kv_read").get("data"))
        metadata = as_object(data.get("metadata"))
        version_value = metadata.get("version")
        created = metadata.get("created_time")
        return ModelVaultSecret(
            mount=mount,
            path=path.strip("/"),
            version=version_value if isinstance(version_value, int) else 0,
            created_time=created if isinstance(created, str) else None,
            data=as_object(data.get("data")),
        )

    async def kv_write(
        self,
        path: str,
        data: Mapping[str, JsonValue],
        *,
        mount: str | None = None,
        cas: int | None = None,
    ) -> int:
        """Write a new version of a secret; returns its version number.

        ``cas`` is KV v2's check-and-set: the write succeeds only when the current version is
        ``cas`` (0: only when the secret does not exist yet).
        """
        body: dict[str, JsonValue] = {"data": dict(data)}
        if cas is not None:
            body["options"] = {"cas": cas}
        response = await self._send(
            "POST",
            f"/v1/{self._mount(mount)}/data/{vault_path(path)}",
            operation="kv_write",
            json_body=body,
        )
        version = as_object(self._reply(response, "kv_write").get("data")).get("version")
        return version if isinstance(version, int) else 0

    async def kv_list(self, path: str = "", *, mount: str | None = None) -> list[str]:
        """The keys directly under ``path`` (folders end with ``/``); empty when none."""
        suffix = vault_path(path, allow_empty=True)
        response = await self._send(
            "LIST",
            f"/v1/{self._mount(mount)}/metadata/{suffix}",
            operation="kv_list",
            not_found_ok=True,
        )
        if response.status_code == 404:
            return []
        keys = as_object(self._reply(response, "kv_list").get("data")).get("keys")
        return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []

    async def kv_delete(
        self, path: str, *, mount: str | None = None, all_versions: bool = False
    ) -> None:
        """Delete the latest version (recoverable), or with ``all_versions`` every version and
        the metadata (permanent)."""
        kind = "metadata" if all_versions else "data"
        await self._send(
            "DELETE",
            f"/v1/{self._mount(mount)}/{kind}/{vault_path(path)}",
            operation="kv_delete",
            not_found_ok=True,
        )

    # -- authentication ----------------------------------------------------------------------

    async def login_approle(self) -> None:
        """Log in with the configured AppRole and use the token it returns."""
        settings = self._settings
        if settings.approle_role_id is None or settings.approle_secret_id is None:
            raise ProtocolConfigurationError(
                "AppRole login needs approle_role_id and approle_secret_id",
                field="approle_role_id",
                context=self._context("login"),
            )
        response = await self._send(
            "POST",
            f"/v1/auth/{settings.approle_mount}/login",
            operation="login",
            json_body={
                "role_id": settings.approle_role_id,
                "secret_id": settings.approle_secret_id.get_secret_value(),
            },
            authenticated=False,
            rejected_is_auth=True,
        )
        auth = as_object(self._reply(response, "login").get("auth"))
        token = auth.get("client_token")
        if not isinstance(token, str) or not token:
            raise InfraAuthenticationError(
                "AppRole login returned no token", context=self._context("login")
            )
        self._lease.adopt(token, auth.get("lease_duration"), auth.get("renewable"))
        _log.info("vault login", method="approle", target=settings.target_name)

    async def renew_token(self) -> None:
        """Renew the current token (``auth/token/renew-self``), extending its TTL."""
        increment = self._settings.renew_increment_seconds
        body: dict[str, JsonValue] = {"increment": f"{increment}s"} if increment else {}
        response = await self._send(
            "POST",
            "/v1/auth/token/renew-self",
            operation="renew_token",
            json_body=body,
            auto_renew=False,
        )
        auth = as_object(self._reply(response, "renew_token").get("auth"))
        self._lease.record(auth.get("lease_duration"), auth.get("renewable"))

    async def refresh_credentials(self) -> None:
        """Get working credentials again after an authentication error.

        With AppRole: a new login. With a fixed token: the token read again from its reference
        (``token_source``, when the handler was given one: a rotated token is picked up), then a
        lookup (and a renewal when the token is renewable); a token that is no longer valid
        raises ``InfraAuthenticationError``, since only whoever issued it can replace it.
        """
        async with self._auth_lock:
            if self._settings.uses_approle:
                await self.login_approle()
                return
            if self._token_source is not None:
                token = await self._token_source()
                register_secret(token.get_secret_value())
                self._lease = VaultTokenLease(token)
            await self._lookup_self()
            if self._lease.renewable:
                await self.renew_token()

    @property
    def token_ttl_seconds(self) -> float | None:
        """Seconds the current token has left, or None when it does not expire (or is unknown)."""
        return self._lease.ttl_seconds

    # -- internals ---------------------------------------------------------------------------

    async def _lookup_self(self) -> None:
        """Validate the current token and learn its TTL and renewability."""
        response = await self._send(
            "GET", "/v1/auth/token/lookup-self", operation="lookup_self", auto_renew=False
        )
        data = as_object(self._reply(response, "lookup_self").get("data"))
        self._lease.record(data.get("ttl"), data.get("renewable"))

    async def _ensure_fresh_token(self) -> None:
        """Renew, or log in again, when the token is about to expire."""
        margin = self._settings.renew_before_expiry_seconds
        if not self._lease.needs_renewal(margin):
            return
        async with self._auth_lock:
            remaining = self._lease.ttl_seconds
            if remaining is None or not self._lease.needs_renewal(margin):
                return  # another task refreshed it while this one waited
            if self._lease.renewable:
                try:
                    await self.renew_token()
                except RuntimeHostError as e:
                    if not self._settings.uses_approle:
                        raise
                    _log.warning("vault renewal failed", error_type=type(e).__name__)
                else:
                    # A renewal capped by the token's max TTL does not extend it: that token
                    # is near its end whatever we do, so only a new login helps.
                    if self._lease.extended_beyond(remaining):
                        return
            if self._settings.uses_approle:
                # Past its maximum TTL a token cannot be renewed further: log in again.
                await self.login_approle()

    def _reply(self, response: httpx.Response, operation: str) -> dict[str, JsonValue]:
        """The JSON object Vault answered with (a protocol error when it is not one)."""
        return self._http.reply(response, operation)

    def _mount(self, mount: str | None) -> str:
        """The KV mount to use, validated like a path."""
        return vault_path(mount if mount is not None else self._settings.kv_mount)

    def _context(self, operation: str) -> ModelInfraErrorContext:
        return self._http.context(operation)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
        authenticated: bool = True,
        auto_renew: bool = True,
        not_found_ok: bool = False,
        rejected_is_auth: bool = False,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        """One request with the current token (``VaultTransport.send`` for the rest).

        ``auto_renew`` is off for the token's own lifecycle calls, which run under the auth lock.
        """
        headers: dict[str, str] = {}
        if authenticated:
            if auto_renew:
                await self._ensure_fresh_token()
            if self._lease.token is not None:
                headers[_TOKEN_HEADER] = self._lease.token.get_secret_value()
        return await self._http.send(
            method,
            url,
            operation=operation,
            headers=headers,
            params=params,
            json_body=json_body,
            not_found_ok=not_found_ok,
            rejected_is_auth=rejected_is_auth,
            raise_for_status=raise_for_status,
        )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
