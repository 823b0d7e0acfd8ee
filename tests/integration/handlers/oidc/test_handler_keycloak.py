"""HandlerKeycloak against a real OIDC provider (oidc-provider-mock) for discovery, JWKS and
token validation, and against the documented fake Keycloak for the client_credentials grant
(the real provider has no such grant)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    ProtocolConfigurationError,
)
from omnibase_infra.handlers import ProtocolInfraHandler
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.testing import FakeKeycloakServer, OidcProviderServer, error_surface
from omnibase_infra.testing.fixtures.oidc import FAKE_KEYCLOAK_CLIENT_ID

pytestmark = pytest.mark.integration

CLIENT_ID = "onex-web"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    """A JWT assembled by hand (for tokens no honest library would sign)."""
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims_for(issuer: str, **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": issuer, "sub": "mallory", "aud": CLIENT_ID, "iat": now, "exp": now + 600} | extra


def _settings(issuer: str, **overrides: object) -> ModelKeycloakSettings:
    return ModelKeycloakSettings.model_validate({"issuer_url": issuer, **overrides})


async def _started(settings: ModelKeycloakSettings) -> HandlerKeycloak:
    handler = HandlerKeycloak(settings)
    await handler.start()
    return handler


@pytest.fixture
async def keycloak(oidc_provider: OidcProviderServer) -> AsyncIterator[HandlerKeycloak]:
    handler = await _started(_settings(oidc_provider.issuer, audience=[CLIENT_ID]))
    try:
        yield handler
    finally:
        await handler.close()


async def _rejection(handler: HandlerKeycloak, token: str) -> InfraAuthenticationError:
    """Validate ``token``, expecting a rejection that does not contain it."""
    with pytest.raises(InfraAuthenticationError) as caught:
        await handler.validate_token(token)
    assert token not in error_surface(caught.value)
    assert caught.value.retriable is False
    return caught.value


# -- discovery and validation on the real provider -----------------------------------------------


async def test_start_reads_discovery_and_ping_is_healthy(
    keycloak: HandlerKeycloak, oidc_provider: OidcProviderServer
) -> None:
    """Start reads the provider's metadata; the handler is an infra handler whose ping is the
    discovery fetch."""
    assert isinstance(keycloak, ProtocolInfraHandler)
    assert keycloak.handler_name == "keycloak"
    assert keycloak.transport_type is EnumInfraTransportType.HTTP
    assert keycloak.discovery is not None
    assert keycloak.discovery.issuer == oidc_provider.issuer
    assert (await keycloak.ping()).healthy is True


async def test_valid_id_token_yields_its_claims(
    keycloak: HandlerKeycloak, oidc_provider: OidcProviderServer
) -> None:
    """A token issued by the provider validates and its claims come back typed."""
    tokens = await oidc_provider.issue_tokens("alice", client_id=CLIENT_ID)
    claims = await keycloak.validate_token(SecretStr(tokens["id_token"]))
    assert claims.subject == "alice"
    assert claims.issuer == oidc_provider.issuer
    assert CLIENT_ID in claims.audience
    assert claims.algorithm == "RS256"
    assert claims.expires_at is not None
    assert claims.claims["email"] == "alice"
    assert "'email'" not in repr(claims)  # the claims dict (personal data) is not in repr


async def test_wrong_audience_is_rejected(
    oidc_provider: OidcProviderServer,
) -> None:
    """A token for another client is rejected as wrong audience."""
    handler = await _started(_settings(oidc_provider.issuer, audience=["someone-else"]))
    try:
        token = (await oidc_provider.issue_tokens("bob", client_id=CLIENT_ID))["id_token"]
        error = await _rejection(handler, token)
    finally:
        await handler.close()
    assert "wrong audience" in error.message


async def test_wrong_issuer_is_rejected(
    keycloak: HandlerKeycloak, oidc_provider: OidcProviderServer
) -> None:
    """A correctly signed token naming another issuer is rejected as wrong issuer."""
    tokens = await oidc_provider.issue_tokens("carol", client_id=CLIENT_ID, host="localhost")
    error = await _rejection(keycloak, tokens["id_token"])
    assert "wrong issuer" in error.message


async def test_expired_token_is_rejected(oidc_provider_short_lived: OidcProviderServer) -> None:
    """A token past its expiry (beyond the leeway) is rejected as expired."""
    handler = await _started(_settings(oidc_provider_short_lived.issuer, leeway_seconds=0))
    try:
        tokens = await oidc_provider_short_lived.issue_tokens("dave", client_id=CLIENT_ID)
        claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        # Wait until the clock is past "exp" (a one-second token), then validate.
        wait = float(claims["exp"]) + 1.1 - time.time()
        await asyncio.sleep(max(0.0, wait))
        error = await _rejection(handler, tokens["id_token"])
    finally:
        await handler.close()
    assert "expired" in error.message


async def test_tampered_token_is_rejected(
    keycloak: HandlerKeycloak, oidc_provider: OidcProviderServer
) -> None:
    """Changing the payload of a signed token breaks its signature."""
    token = (await oidc_provider.issue_tokens("erin", client_id=CLIENT_ID))["id_token"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"
    error = await _rejection(keycloak, forged)
    assert "bad signature" in error.message


async def test_unsigned_and_hmac_confused_tokens_are_rejected(
    keycloak: HandlerKeycloak, oidc_provider: OidcProviderServer
) -> None:
    """alg=none and an HS256 token keyed with the provider's public key are both refused."""
    claims = _claims_for(oidc_provider.issuer)
    unsigned = _forge({"alg": "none", "typ": "JWT"}, claims)
    assert "algorithm not allowed" in (await _rejection(keycloak, unsigned)).message
    # The attack: sign HS256 with the provider's *public* key as the HMAC secret.
    async with httpx.AsyncClient(trust_env=False) as client:
        jwks = (await client.get(f"{oidc_provider.issuer}/jwks")).json()
    public_key = RSAAlgorithm.from_jwk(json.dumps(jwks["keys"][0]))
    assert isinstance(public_key, rsa.RSAPublicKey)
    pem = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": jwks["keys"][0]["kid"]}
    body = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(pem, body.encode(), hashlib.sha256).digest()
    confused = f"{body}.{_b64(mac)}"
    assert "algorithm not allowed" in (await _rejection(keycloak, confused)).message


async def test_garbage_empty_and_oversized_tokens_are_rejected(
    keycloak: HandlerKeycloak,
) -> None:
    """Non-JWT text, an empty token and an oversized one are rejected with a reason."""
    assert "malformed" in (await _rejection(keycloak, "not-a-jwt-at-all")).message
    with pytest.raises(InfraAuthenticationError) as caught:
        await keycloak.validate_token("")
    assert "empty" in caught.value.message
    huge = "a" * (17 * 1024)
    assert "too large" in (await _rejection(keycloak, huge)).message


async def test_missing_required_claim_is_rejected(
    oidc_provider: OidcProviderServer,
) -> None:
    """A token lacking a claim the settings require is rejected."""
    handler = await _started(
        _settings(oidc_provider.issuer, required_claims=["exp", "iss", "sub", "tenant"])
    )
    try:
        token = (await oidc_provider.issue_tokens("frank", client_id=CLIENT_ID))["id_token"]
        error = await _rejection(handler, token)
    finally:
        await handler.close()
    assert "required claim" in error.message


async def test_key_rotation_is_picked_up_on_an_unknown_kid(
    oidc_provider_fresh: OidcProviderServer,
) -> None:
    """After the provider rotates its key, a token with the new kid makes the handler fetch
    the JWKS again and validate it."""
    handler = await _started(
        _settings(oidc_provider_fresh.issuer, jwks_min_refresh_interval_seconds=0)
    )
    try:
        oidc_provider_fresh.restart()  # new signing key, same issuer
        token = (await oidc_provider_fresh.issue_tokens("gina", client_id=CLIENT_ID))["id_token"]
        with capture_logs() as logs:
            claims = await handler.validate_token(token)
        assert claims.subject == "gina"
        assert [e["event"] for e in logs].count("oidc jwks fetched") == 1
    finally:
        await handler.close()


async def test_unknown_kid_refetches_at_most_once_per_interval(
    oidc_provider: OidcProviderServer,
) -> None:
    """Tokens with made-up key ids are rejected, and only the first one triggers a fetch."""
    handler = await _started(
        _settings(oidc_provider.issuer, jwks_min_refresh_interval_seconds=3600)
    )
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        events: list[str] = []
        for _ in range(3):
            token = jwt.encode(
                _claims_for(oidc_provider.issuer),
                own_key,
                algorithm="RS256",
                headers={"kid": uuid.uuid4().hex},
            )
            with capture_logs() as logs:
                error = await _rejection(handler, token)
            assert "unknown key" in error.message
            events.extend(str(e["event"]) for e in logs)
        assert events.count("oidc jwks fetched") <= 1
    finally:
        await handler.close()


async def test_provider_down_keeps_known_keys_but_fails_unknown_ones(
    oidc_provider_fresh: OidcProviderServer,
) -> None:
    """With the provider gone, tokens signed by a known key still validate, ping is
    unhealthy, and a token with an unknown kid is a retriable connection error."""
    handler = await _started(
        _settings(oidc_provider_fresh.issuer, jwks_min_refresh_interval_seconds=0)
    )
    token = (await oidc_provider_fresh.issue_tokens("hank", client_id=CLIENT_ID))["id_token"]
    oidc_provider_fresh.stop()
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = jwt.encode(
        _claims_for(oidc_provider_fresh.issuer), own_key, algorithm="RS256", headers={"kid": "x1"}
    )
    try:
        assert (await handler.validate_token(token)).subject == "hank"
        assert (await handler.ping()).healthy is False
        with pytest.raises(InfraConnectionError) as caught:
            await handler.validate_token(stranger)
        assert caught.value.retriable is True
    finally:
        await handler.close()


async def test_issuer_mismatch_fails_the_start(oidc_provider: OidcProviderServer) -> None:
    """A discovery document naming another issuer than configured stops the start."""
    settings = _settings(
        f"http://localhost:{oidc_provider.port}",
        discovery_url=f"{oidc_provider.issuer}/.well-known/openid-configuration",
    )
    handler = HandlerKeycloak(settings)
    with pytest.raises(ProtocolConfigurationError):
        await handler.start()
    await handler.close()


async def test_unstarted_handler_and_unreachable_provider(
    oidc_provider_fresh: OidcProviderServer,
) -> None:
    """Validating before start is a connection error, and so is starting against a provider
    that is gone."""
    settings = _settings(oidc_provider_fresh.issuer)
    unstarted = HandlerKeycloak(settings)
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims_for(settings.issuer_url), own_key, algorithm="RS256")
    with pytest.raises(InfraConnectionError):
        await unstarted.validate_token(token)
    oidc_provider_fresh.stop()
    with pytest.raises(InfraConnectionError):
        await unstarted.start()
    await unstarted.close()


# -- client credentials ---------------------------------------------------------------------------


def _client_settings(fake: FakeKeycloakServer, **overrides: object) -> ModelKeycloakSettings:
    values: dict[str, object] = {
        "issuer_url": fake.issuer,
        "audience": ["account"],
        "client_id": FAKE_KEYCLOAK_CLIENT_ID,
        "client_secret": fake.client_secrets[FAKE_KEYCLOAK_CLIENT_ID],
    }
    values.update(overrides)
    return ModelKeycloakSettings.model_validate(values)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials_token_validates_as_a_service_account(
    keycloak_fake: FakeKeycloakServer, method: str
) -> None:
    """The client_credentials grant (either client auth method) returns a token that the same
    handler validates, with the service account's client and realm roles."""
    handler = await _started(_client_settings(keycloak_fake, client_auth_method=method))
    try:
        token = await handler.client_credentials_token()
        assert token.token_type == "Bearer"
        assert token.expires_at is not None
        claims = await handler.validate_token(token.access_token)
    finally:
        await handler.close()
    assert claims.authorized_party == FAKE_KEYCLOAK_CLIENT_ID
    assert "registry-writer" in claims.realm_roles
    assert claims.claims["preferred_username"] == f"service-account-{FAKE_KEYCLOAK_CLIENT_ID}"
    assert token.access_token.get_secret_value() not in repr(token)


async def test_service_token_is_cached_until_forced_or_refreshed(
    keycloak_fake: FakeKeycloakServer,
) -> None:
    """The service token is reused while fresh; force and refresh_credentials fetch new ones."""
    handler = await _started(_client_settings(keycloak_fake))
    try:
        first = await handler.client_credentials_token()
        again = await handler.client_credentials_token()
        forced = await handler.client_credentials_token(force=True)
        await handler.refresh_credentials()
        refreshed = await handler.client_credentials_token()
    finally:
        await handler.close()
    value = first.access_token.get_secret_value()
    assert again.access_token.get_secret_value() == value
    assert forced.access_token.get_secret_value() != value
    assert refreshed.access_token.get_secret_value() not in (
        value,
        forced.access_token.get_secret_value(),
    )


async def test_requested_scope_is_granted(keycloak_fake: FakeKeycloakServer) -> None:
    """A requested scope is sent and shows in the token's scopes."""
    handler = await _started(_client_settings(keycloak_fake, scope="registry"))
    try:
        token = await handler.client_credentials_token()
        claims = await handler.validate_token(token.access_token)
    finally:
        await handler.close()
    assert token.scope is not None
    assert "registry" in claims.scopes


async def test_wrong_client_secret_is_an_authentication_error(
    keycloak_fake: FakeKeycloakServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """A wrong client secret raises InfraAuthenticationError (invalid_client) that shows
    neither the secret nor the Basic header."""
    wrong = "wrong-" + uuid.uuid4().hex
    handler = await _started(_client_settings(keycloak_fake, client_secret=wrong))
    try:
        with pytest.raises(InfraAuthenticationError) as caught:
            await handler.client_credentials_token()
    finally:
        await handler.close()
    text = error_surface(caught.value)
    assert "invalid_client" in text
    assert wrong not in text
    encoded = base64.b64encode(f"{FAKE_KEYCLOAK_CLIENT_ID}:{wrong}".encode()).decode()
    assert encoded not in text
    captured = capfd.readouterr()
    assert wrong not in captured.out + captured.err


async def test_provider_without_the_grant_is_a_configuration_error(
    oidc_provider: OidcProviderServer,
) -> None:
    """A real provider that does not support client_credentials answers
    unsupported_grant_type, which is a configuration error, not an auth failure."""
    handler = await _started(
        _settings(oidc_provider.issuer, client_id=CLIENT_ID, client_secret="s3cret-value")
    )
    try:
        with pytest.raises(ProtocolConfigurationError) as caught:
            await handler.client_credentials_token()
    finally:
        await handler.close()
    assert "unsupported_grant_type" in caught.value.message


async def test_client_credentials_without_a_client_is_a_configuration_error(
    keycloak: HandlerKeycloak,
) -> None:
    """Asking for a service token with no client configured is refused before any request."""
    with pytest.raises(ProtocolConfigurationError):
        await keycloak.client_credentials_token()


def test_settings_refuse_symmetric_and_none_algorithms() -> None:
    """Only public-key algorithms are accepted: none and HS* are configuration errors, and a
    client secret needs a client id; no secret is echoed."""
    for algorithms in (["none"], ["HS256"], ["RS256", "HS512"]):
        with pytest.raises(ValidationError):
            _settings("http://127.0.0.1:1/realms/x", algorithms=algorithms)
    secret = "cs-" + uuid.uuid4().hex
    with pytest.raises(ValidationError) as caught:
        _settings("http://127.0.0.1:1/realms/x", client_secret=secret)
    assert secret not in str(caught.value)
