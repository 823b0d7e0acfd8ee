"""Keycloak's role through standard OpenID Connect: discovery, JWKS, token validation, and
service-account tokens by the client_credentials grant; Keycloak's admin API for roles
(``admin``: lookups and role mappings, see ``keycloak_admin``).

Works with Keycloak (issuer ``<base>/realms/<realm>``) and any OIDC provider. Token validation
uses PyJWT with the provider's JWKS (cached, refreshed on an unknown ``kid``; see
``jwks_cache``) and checks, in order: size, header, algorithm against the allowlist (only
public-key algorithms: never ``none`` or ``HS*``), the key, the signature, issuer, audience,
expiry and not-before (with ``leeway_seconds``), and the required claims. Every failure raises
``InfraAuthenticationError`` ("JWT rejected: expired"...), never the token itself. (Messages
avoid "token <word>": the sanitiser reads that as a credential and masks the word.)

Token endpoint errors follow RFC 6749 section 5.2: ``invalid_client``, ``invalid_grant``,
``unauthorized_client`` and ``access_denied`` are ``InfraAuthenticationError``;
``unsupported_grant_type``, ``invalid_scope`` and ``invalid_request`` are
``ProtocolConfigurationError``. Transport failures translate as in ``httpx_support``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import jwt
from pydantic import JsonValue, SecretStr, ValidationError

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)
from omnibase_infra.handlers.httpx_support import (
    error_for_status,
    new_async_client,
    read_bounded,
    safe_url,
    translate_transport_error,
)
from omnibase_infra.handlers.oidc.jwks_cache import OidcJwksCache
from omnibase_infra.handlers.oidc.keycloak_admin import KeycloakAdminApi
from omnibase_infra.handlers.oidc.model_access_token import ModelAccessToken
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.oidc.model_oidc_discovery import ModelOidcDiscovery
from omnibase_infra.handlers.oidc.model_token_claims import ModelTokenClaims
from omnibase_infra.handlers.oidc.wire import claims_model, json_object, token_endpoint_error
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.sanitize import register_secret

__all__ = ["HandlerKeycloak"]

# PyJWT's exceptions, most specific first, and the reason each one gives.
_REJECTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not valid yet"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.MissingRequiredClaimError, "a required claim is missing"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.InvalidKeyError, "key does not fit the algorithm"),
    (jwt.DecodeError, "malformed"),
)


class HandlerKeycloak:
    """OIDC token validation and service-account tokens (``ProtocolInfraHandler``)."""

    def __init__(
        self,
        settings: ModelKeycloakSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._discovery: ModelOidcDiscovery | None = None
        self._jwks = OidcJwksCache(
            self._fetch_jwks,
            ttl_seconds=settings.jwks_cache_seconds,
            min_refresh_interval_seconds=settings.jwks_min_refresh_interval_seconds,
            target_name=settings.target_name,
        )
        self._service_token: ModelAccessToken | None = None
        self._service_token_renew_at = 0.0  # monotonic
        self._token_lock = asyncio.Lock()
        self._admin = KeycloakAdminApi(settings, self._send, self._admin_token)
        if settings.client_secret is not None:
            register_secret(settings.client_secret.get_secret_value())

    def __repr__(self) -> str:
        return f"HandlerKeycloak(issuer={self._settings.target_name!r})"

    @property
    def handler_name(self) -> str:
        """``keycloak``."""
        return "keycloak"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``HTTP``."""
        return EnumInfraTransportType.HTTP

    @property
    def admin(self) -> KeycloakAdminApi:
        """The realm's admin API (roles and role mappings) as the configured client."""
        return self._admin

    @property
    def discovery(self) -> ModelOidcDiscovery | None:
        """The provider metadata read at start (None before)."""
        return self._discovery

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client, read the discovery document (its issuer must match) and the JWKS."""
        if self._client is None:
            settings = self._settings
            self._client = new_async_client(
                timeout_seconds=settings.timeout_seconds,
                connect_timeout_seconds=settings.connect_timeout_seconds,
                tls_verify=settings.tls_verify,
                ca_cert_path=settings.ca_cert_path,
                transport=self._transport,
            )
        self._discovery = await self._fetch_discovery()
        await self._jwks.refresh()

    async def ping(self) -> ModelHealthCheckResult:
        """Fetch the discovery document: healthy when it answers with the configured issuer."""
        started = time.perf_counter()
        try:
            await self._fetch_discovery(operation="ping")
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, _elapsed_ms(started))
        return ModelHealthCheckResult(
            name=self.handler_name, healthy=True, latency_ms=_elapsed_ms(started)
        )

    async def close(self) -> None:
        """Close the client; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- token validation --------------------------------------------------------------------

    async def validate_token(self, token: str | SecretStr) -> ModelTokenClaims:
        """Verify a JWT (signature, issuer, audience, times, claims) and return its claims."""
        raw = token.get_secret_value() if isinstance(token, SecretStr) else token
        settings = self._settings
        if not raw:
            raise self._rejected("empty")
        if len(raw) > settings.max_token_bytes:
            raise self._rejected("too large")
        try:
            header = jwt.get_unverified_header(raw)
        except jwt.PyJWTError as e:
            raise self._rejected("malformed") from e
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in settings.algorithms:
            raise self._rejected("algorithm not allowed")
        key_id = header.get("kid")
        key = await self._jwks.key_for(key_id if isinstance(key_id, str) else None, algorithm)
        try:
            # The payload is parsed JSON, so already JSON-shaped: no second validation pass.
            claims: dict[str, JsonValue] = jwt.decode(
                raw,
                key=key.key,
                algorithms=[algorithm],
                audience=settings.audience,
                issuer=settings.issuer_url,
                leeway=settings.leeway_seconds,
                options={
                    "require": list(settings.required_claims),
                    "verify_aud": settings.audience is not None,
                },
            )
        except jwt.PyJWTError as e:
            reason = next((why for kind, why in _REJECTIONS if isinstance(e, kind)), "invalid")
            raise self._rejected(reason) from e
        return claims_model(claims, algorithm, key_id if isinstance(key_id, str) else None)

    # -- client credentials ------------------------------------------------------------------

    async def client_credentials_token(
        self, *, scope: str | None = None, force: bool = False
    ) -> ModelAccessToken:
        """A service-account token for the configured client (cached until near expiry; a
        token for another scope than the configured one is fetched each time, not cached)."""
        if scope is not None and scope != self._settings.scope:
            return await self._request_client_credentials(scope)
        async with self._token_lock:
            cached = self._service_token
            if cached is not None and not force and time.monotonic() < self._service_token_renew_at:
                return cached
            token = await self._request_client_credentials(self._settings.scope)
            self._service_token = token
            lifetime = (
                (token.expires_at - datetime.now(UTC)).total_seconds()
                if token.expires_at is not None
                else 0.0
            )
            margin = min(self._settings.token_refresh_margin_seconds, lifetime / 2)
            self._service_token_renew_at = time.monotonic() + max(0.0, lifetime - margin)
            return token

    async def refresh_credentials(self) -> None:
        """After an authentication error: drop the cached service token, fetch a new one (when a
        client is configured) and re-read the provider's keys."""
        async with self._token_lock:
            self._service_token = None
            self._service_token_renew_at = 0.0
        await self._jwks.refresh()
        if self._settings.client_id is not None:
            await self.client_credentials_token(force=True)

    # -- internals ---------------------------------------------------------------------------

    async def _admin_token(self, renewed: bool) -> ModelAccessToken:
        """The admin API's token: the cached service token, or a new one after a 401."""
        return await self.client_credentials_token(force=renewed)

    async def _request_client_credentials(self, scope: str | None) -> ModelAccessToken:
        settings = self._settings
        context = self._context("client_credentials")
        if settings.client_id is None or settings.client_secret is None:
            raise ProtocolConfigurationError(
                "client_credentials needs client_id and client_secret",
                field="client_id",
                context=context,
            )
        endpoint = self._discovery.token_endpoint if self._discovery else None
        if endpoint is None:
            raise ProtocolConfigurationError(
                "the provider's discovery names no token_endpoint (or the handler is not started)",
                context=context,
            )
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        headers: dict[str, str] = {}
        secret = settings.client_secret.get_secret_value()
        if settings.client_auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: id and secret are form-urlencoded before the Basic encoding.
            pair = f"{quote(settings.client_id, safe='')}:{quote(secret, safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form.update({"client_id": settings.client_id, "client_secret": secret})
        response, body = await self._send("POST", endpoint, context, data=form, headers=headers)
        if response.status_code >= 400:
            raise token_endpoint_error(response, body, context)
        payload = json_object(body, context)
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise InfraConnectionError("the provider returned no access_token", context=context)
        if access_token.count(".") != 2:
            register_secret(access_token)  # JWTs are masked by shape; opaque tokens by value
        expires_in = payload.get("expires_in")
        token_type = payload.get("token_type")
        granted_scope = payload.get("scope")
        return ModelAccessToken(
            access_token=SecretStr(access_token),
            token_type=token_type if isinstance(token_type, str) else "Bearer",
            expires_at=(
                datetime.now(UTC) + timedelta(seconds=expires_in)
                if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
                else None
            ),
            scope=granted_scope if isinstance(granted_scope, str) else None,
        )

    async def _fetch_discovery(self, operation: str = "discovery") -> ModelOidcDiscovery:
        context = self._context(operation)
        response, body = await self._send("GET", self._settings.resolved_discovery_url, context)
        if response.status_code >= 400:
            raise error_for_status(response.status_code, response.headers, context)
        try:
            discovery = ModelOidcDiscovery.model_validate_json(body)
        except ValidationError as e:
            raise InfraConnectionError(
                "the discovery document is not valid provider metadata", context=context
            ) from e
        if discovery.issuer.rstrip("/") != self._settings.issuer_url:
            raise ProtocolConfigurationError(
                f"the provider's issuer ({safe_url(discovery.issuer)}) is not the configured "
                f"issuer_url ({self._settings.target_name})",
                field="issuer_url",
                context=context,
            )
        return discovery

    async def _fetch_jwks(self) -> dict[str, JsonValue]:
        context = self._context("fetch_jwks")
        if self._discovery is None:
            raise InfraConnectionError("handler is not started", context=context)
        response, body = await self._send("GET", self._discovery.jwks_uri, context)
        if response.status_code >= 400:
            raise error_for_status(response.status_code, response.headers, context)
        return json_object(body, context)

    async def _send(
        self,
        method: str,
        url: str,
        context: ModelInfraErrorContext,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, bytes]:
        client = self._client
        if client is None:
            raise InfraConnectionError("handler is not started", context=context)
        try:
            request = client.build_request(
                method,
                url,
                data=data,
                params=params,
                json=json_body,
                headers=headers,
            )
            response = await client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise translate_transport_error(e, context) from e
        body = await read_bounded(response, self._settings.max_response_bytes, context)
        return response, body

    def _rejected(self, reason: str) -> InfraAuthenticationError:
        return InfraAuthenticationError(
            f"JWT rejected: {reason}", context=self._context("validate_token"), reason=reason
        )

    def _context(self, operation: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=EnumInfraTransportType.HTTP,
            operation=operation,
            target_name=self._settings.target_name,
        )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
