"""The ingress with OIDC auth against a real provider (oidc-provider-mock): a token whose role
allows the topic is accepted (202); a wrong role or topic is 403; a missing, expired or
wrong-audience token is 401; after the provider rotates its key, new tokens still validate.
No reply ever contains the token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
from ingress_support import ingress_host, start_job
from pydantic import JsonValue
from runtime_support import RecordingSink
from runtime_testnodes.topics import TOPIC_SLOW_WORK, TOPIC_START_JOB

from omnibase_infra.testing.eventually import eventually
from omnibase_infra.testing.servers.oidc import OidcProviderServer

pytestmark = pytest.mark.integration

CLIENT_ID = "onex-ingress"
ROLES: dict[str, JsonValue] = {
    "rtest-starter": ["onex.cmd.rtest.start-*"],
    "rtest-observer": ["onex.evt.rtest.*"],
}


def _auth(issuer: str, **oidc: JsonValue) -> dict[str, JsonValue]:
    return {
        "auth": {
            "oidc": {"issuer_url": issuer, "audience": [CLIENT_ID], **oidc},
            "roles": ROLES,
        }
    }


async def _token(
    provider: OidcProviderServer, name: str, roles: list[str], client_id: str = CLIENT_ID
) -> str:
    """A token of a subject of this module's own (the session's provider is shared)."""
    subject = f"ingress-{name}"
    await provider.set_claims(subject, {"realm_access": {"roles": list[JsonValue](roles)}})
    return (await provider.issue_tokens(subject, client_id=client_id))["id_token"]


@asynccontextmanager
async def _authed(
    provider: OidcProviderServer, sink: RecordingSink, **oidc: JsonValue
) -> AsyncIterator[httpx.AsyncClient]:
    async with ingress_host(sink, ingress=_auth(provider.issuer, **oidc)) as (_, client):
        yield client


async def _post(
    client: httpx.AsyncClient, token: str | None, topic: str = TOPIC_START_JOB
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await client.post(
        f"/v1/events/{topic}",
        params={"payload_type": "ModelRtStartJob"},
        json=start_job(),
        headers=headers,
    )


async def test_role_allowing_the_topic_is_accepted_and_handled(
    oidc_provider: OidcProviderServer,
) -> None:
    """A token with a role whose pattern matches the topic: 202, and the node handles it."""
    sink = RecordingSink()
    token = await _token(oidc_provider, "alice", ["rtest-starter"])
    async with _authed(oidc_provider, sink) as client:
        reply = await _post(client, token)
        assert reply.status_code == 202, reply.text
        await eventually(lambda: sink.recorded, "the job recorded")


async def test_wrong_role_or_topic_is_403_without_the_token(
    oidc_provider: OidcProviderServer,
) -> None:
    """A valid token whose roles match no pattern of the topic is refused with 403."""
    observer = await _token(oidc_provider, "bob", ["rtest-observer"])
    starter = await _token(oidc_provider, "carol", ["rtest-starter"])
    async with _authed(oidc_provider, RecordingSink()) as client:
        wrong_role = await _post(client, observer)
        wrong_topic = await _post(client, starter, TOPIC_SLOW_WORK)
    assert wrong_role.status_code == 403
    assert wrong_topic.status_code == 403
    assert TOPIC_SLOW_WORK in wrong_topic.json()["error"]
    assert observer not in wrong_role.text
    assert starter not in wrong_topic.text


async def test_missing_or_malformed_token_is_401(oidc_provider: OidcProviderServer) -> None:
    """No Authorization header, another scheme, or a token that is not a JWT: 401 with
    WWW-Authenticate, and the header's value not echoed."""
    async with _authed(oidc_provider, RecordingSink()) as client:
        missing = await _post(client, None)
        garbage = await _post(client, "not-a-jwt-but-secret-looking")
        basic = await client.post(
            f"/v1/events/{TOPIC_START_JOB}",
            params={"payload_type": "ModelRtStartJob"},
            json=start_job(),
            headers={"Authorization": "Basic dXNlcjpwYXNz"},
        )
    assert [r.status_code for r in (missing, garbage, basic)] == [401, 401, 401]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "not-a-jwt-but-secret-looking" not in garbage.text
    assert "dXNlcjpwYXNz" not in basic.text


async def test_wrong_audience_is_401(oidc_provider: OidcProviderServer) -> None:
    """A correctly signed token issued to another client (audience) is refused with 401."""
    token = await _token(oidc_provider, "dora", ["rtest-starter"], client_id="someone-else")
    async with _authed(oidc_provider, RecordingSink()) as client:
        reply = await _post(client, token)
    assert reply.status_code == 401
    assert "wrong audience" in reply.json()["error"]
    assert token not in reply.text


async def test_expired_token_is_401(oidc_provider_short_lived: OidcProviderServer) -> None:
    """A token past its expiry (no leeway) is refused with 401 saying it expired."""
    provider = oidc_provider_short_lived
    token = await _token(provider, "erin", ["rtest-starter"])
    expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    async with _authed(provider, RecordingSink(), leeway_seconds=0) as client:
        await asyncio.sleep(max(0.0, expires + 1.1 - time.time()))
        reply = await _post(client, token)
    assert reply.status_code == 401
    assert "expired" in reply.json()["error"]


async def test_tokens_signed_after_a_key_rotation_still_validate(
    oidc_provider_fresh: OidcProviderServer,
) -> None:
    """After the provider restarts with a new signing key, a new token (unknown kid) makes the
    ingress read the JWKS again and accept it."""
    provider = oidc_provider_fresh
    async with _authed(provider, RecordingSink(), jwks_min_refresh_interval_seconds=0) as client:
        before = await _post(client, await _token(provider, "fay", ["rtest-starter"]))
        provider.restart()  # new key, same issuer; users' claims forgotten
        after = await _post(client, await _token(provider, "fay", ["rtest-starter"]))
    assert before.status_code == 202, before.text
    assert after.status_code == 202, after.text


async def test_rate_limit_counts_per_token_subject(oidc_provider: OidcProviderServer) -> None:
    """With auth, the bucket is the token's subject: one subject past its burst gets 429
    while another subject on the same connection is still accepted."""
    first = await _token(oidc_provider, "gus", ["rtest-starter"])
    second = await _token(oidc_provider, "hal", ["rtest-starter"])
    settings = {**_auth(oidc_provider.issuer), "rate_burst": 1, "rate_per_second": 0.5}
    async with ingress_host(RecordingSink(), ingress=settings) as (_, client):
        statuses = [(await _post(client, first)).status_code for _ in range(2)]
        other = await _post(client, second)
    assert statuses == [202, 429]
    assert other.status_code == 202


async def test_streams_are_read_under_the_same_roles(oidc_provider: OidcProviderServer) -> None:
    """``GET .../stream``: a role whose pattern matches the topic gets the stream (its first
    frame is ``subscribed``); a topic no role of the token matches is 403, no token is 401."""
    token = await _token(oidc_provider, "olga", ["rtest-observer"])
    bearer = {"Authorization": f"Bearer {token}"}
    async with _authed(oidc_provider, RecordingSink()) as client:
        async with client.stream(
            "GET", "/v1/events/onex.evt.rtest.job-done.v1/stream", headers=bearer
        ) as allowed:
            assert allowed.status_code == 200
            first = await anext(allowed.aiter_lines())
        forbidden = await client.get(f"/v1/events/{TOPIC_START_JOB}/stream", headers=bearer)
        anonymous = await client.get("/v1/events/onex.evt.rtest.job-done.v1/stream")
    assert first == "event: subscribed"
    assert forbidden.status_code == 403
    assert anonymous.status_code == 401
    assert token not in forbidden.text + anonymous.text
