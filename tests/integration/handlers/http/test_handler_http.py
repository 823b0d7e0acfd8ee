"""HandlerHttp against a real local HTTP server: requests, webhooks, error translation, leaks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import JsonValue, SecretStr, ValidationError

from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.handlers import ProtocolInfraHandler
from omnibase_infra.handlers.http.handler_http import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    HandlerHttp,
    new_webhook_secret,
)
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.handlers.httpx_support import parse_retry_after, safe_url
from omnibase_infra.resilience import AsyncCircuitBreaker, EffectExecutor, RetryPolicy
from omnibase_infra.testing import HttpTestServer, ManualClock, error_surface

pytestmark = pytest.mark.integration


def _secret() -> str:
    return "tok-" + uuid.uuid4().hex


def _status_of(error: RuntimeHostError) -> JsonValue:
    return error.model.context.get("status_code")


async def _handler(server: HttpTestServer, **settings: object) -> HandlerHttp:
    values: dict[str, object] = {"base_url": server.url}
    values.update(settings)
    handler = HandlerHttp(ModelHttpClientSettings.model_validate(values))
    await handler.start()
    return handler


@pytest.fixture
async def http(http_test_server: HttpTestServer) -> AsyncIterator[HandlerHttp]:
    handler = await _handler(http_test_server, webhook_secret=http_test_server.webhook_secret)
    try:
        yield handler
    finally:
        await handler.close()


# -- requests -------------------------------------------------------------------------------------


async def test_is_an_infra_handler_and_ping_reflects_the_client(
    http_test_server: HttpTestServer,
) -> None:
    """The handler satisfies ProtocolInfraHandler; ping is healthy once started, and with a
    health URL it is healthy when that URL answers."""
    handler = HandlerHttp(ModelHttpClientSettings())
    assert isinstance(handler, ProtocolInfraHandler)
    assert handler.handler_name == "http"
    assert handler.transport_type is EnumInfraTransportType.HTTP
    assert (await handler.ping()).healthy is False
    await handler.start()
    assert (await handler.ping()).healthy is True
    await handler.close()
    checked = await _handler(http_test_server, health_url=f"{http_test_server.url}/health")
    try:
        assert (await checked.ping()).healthy is True
    finally:
        await checked.close()


async def test_get_sends_params_headers_and_returns_the_response(http: HandlerHttp) -> None:
    """A GET carries query parameters and headers; the response exposes status and JSON."""
    response = await http.request("GET", "/echo", params={"q": "1"}, headers={"x-trace": "abc"})
    assert response.status_code == 200
    echoed = response.json_body()
    assert isinstance(echoed, dict)
    assert echoed["query"] == {"q": "1"}
    headers = echoed["headers"]
    assert isinstance(headers, dict)
    assert headers["x-trace"] == "abc"
    assert headers["user-agent"] == "omnibase-infra"


async def test_post_json_round_trips(http: HandlerHttp) -> None:
    """A JSON body arrives as sent."""
    response = await http.request("POST", "/echo", json_body={"a": [1, 2], "b": "ü"})
    echoed = response.json_body()
    assert isinstance(echoed, dict)
    assert echoed["method"] == "POST"
    assert json.loads(str(echoed["body"])) == {"a": [1, 2], "b": "ü"}


async def test_credentials_are_sent_but_never_shown(http_test_server: HttpTestServer) -> None:
    """The bearer token and secret headers reach the server but not the response's repr."""
    token, api_key = _secret(), _secret()
    handler = await _handler(
        http_test_server,
        bearer_token=SecretStr(token),
        secret_headers={"x-api-key": SecretStr(api_key)},
    )
    try:
        response = await handler.request("GET", "/echo")
    finally:
        await handler.close()
    echoed = response.json_body()
    assert isinstance(echoed, dict)
    headers = echoed["headers"]
    assert isinstance(headers, dict)
    assert headers["authorization"] == f"Bearer {token}"
    assert headers["x-api-key"] == api_key
    assert token not in repr(response)
    assert token not in repr(handler)


async def test_redirects_are_not_followed_by_default(http: HandlerHttp) -> None:
    """A 302 is returned as is, not followed (no silent hop to another host)."""
    response = await http.request("GET", "/redirect")
    assert response.status_code == 302
    assert response.headers["location"] == "/echo"


async def test_redirect_to_another_origin_carries_no_credential(
    http_test_server: HttpTestServer, http_test_server_fresh: HttpTestServer
) -> None:
    """Following a redirect to another origin drops the secret headers, the bearer token and
    any caller header that names a secret; a same-origin redirect keeps them."""
    token, api_key, caller_key = _secret(), _secret(), _secret()
    handler = await _handler(
        http_test_server,
        follow_redirects=True,
        bearer_token=SecretStr(token),
        secret_headers={"x-api-key": SecretStr(api_key)},
    )
    other = f"{http_test_server_fresh.url}/echo"
    try:
        away = await handler.request(
            "GET", "/redirect", params={"to": other}, headers={"x-service-token": caller_key}
        )
        home = await handler.request("GET", "/redirect")
    finally:
        await handler.close()
    assert away.url == safe_url(other)
    away_body, home_body = away.json_body(), home.json_body()
    assert isinstance(away_body, dict)
    assert isinstance(home_body, dict)
    away_headers, home_headers = away_body["headers"], home_body["headers"]
    assert isinstance(away_headers, dict)
    assert isinstance(home_headers, dict)
    assert "x-api-key" not in away_headers
    assert "authorization" not in away_headers
    assert "x-service-token" not in away_headers
    assert away_headers["user-agent"] == "omnibase-infra"  # not every header is dropped
    received = json.dumps(await http_test_server_fresh.received())
    for secret in (token, api_key, caller_key):
        assert secret not in received
    assert home_headers["x-api-key"] == api_key
    assert home_headers["authorization"] == f"Bearer {token}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:-1/health",
        "http://127.0.0.1:99999/health",
        "http://127.0.0.1:0/health",
        "http://[::1/health",
        "http://xn--/health",
        "http://exa mple.com/health",
        "http://\x00/health",
    ],
)
async def test_unsendable_url_is_a_configuration_error(http: HandlerHttp, url: str) -> None:
    """A URL with a port outside 1-65535 or a broken host raises a non-retriable
    ProtocolConfigurationError (not a ValueError, an IDNAError or an ExceptionGroup)."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        await http.request("GET", url)
    assert caught.value.retriable is False


async def test_redirect_to_an_unsendable_url_is_not_retriable(
    http_test_server: HttpTestServer,
) -> None:
    """A Location naming a port outside 1-65535 ends the call with a non-retriable error."""
    handler = await _handler(http_test_server, follow_redirects=True)
    try:
        with pytest.raises(RuntimeHostError, match="redirected to a URL") as caught:
            await handler.request("GET", "/redirect", params={"to": "http://127.0.0.1:-1/health"})
    finally:
        await handler.close()
    assert caught.value.retriable is False


async def test_ping_of_an_unsendable_health_url_reports_unhealthy(
    http_test_server: HttpTestServer,
) -> None:
    """A handler whose health_url was set past validation (model_construct) pings unhealthy,
    naming a configuration error; it does not raise."""
    settings = ModelHttpClientSettings.model_construct(
        **{
            **ModelHttpClientSettings(base_url=http_test_server.url).model_dump(),
            "health_url": "http://127.0.0.1:-1/health",
        }
    )
    handler = HandlerHttp(settings)
    await handler.start()
    try:
        result = await handler.ping()
    finally:
        await handler.close()
    assert result.healthy is False
    assert "ProtocolConfigurationError" in str(result.detail)


# -- error translation ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 404, 409, 410, 422])
async def test_client_errors_are_not_retriable(http: HandlerHttp, code: int) -> None:
    """A 4xx (other than auth, 408, 429) raises a non-retriable error carrying the status."""
    with pytest.raises(RuntimeHostError) as caught:
        await http.request("GET", f"/status/{code}")
    assert caught.value.retriable is False
    assert _status_of(caught.value) == code
    assert not isinstance(caught.value, InfraUnavailableError | InfraAuthenticationError)


async def test_client_errors_never_open_the_breaker_nor_retry(
    http_test_server: HttpTestServer,
) -> None:
    """Through an executor with retries and a breaker of threshold 5: a stream of 404s (and
    other 4xx) is sent once per call and leaves the circuit closed for every caller; five 500s,
    or five 429s, open it."""
    handler = await _handler(http_test_server)
    clock = ManualClock()

    def executor() -> EffectExecutor:
        breaker = AsyncCircuitBreaker(
            "http-dep", EnumInfraTransportType.HTTP, threshold=5, reset_timeout=60, clock=clock
        )
        retry = RetryPolicy(max_attempts=3, base_delay_seconds=0.1, jitter_factor=0.0)
        return EffectExecutor(
            f"http.{uuid.uuid4().hex[:8]}",
            retry=retry,
            breaker=breaker,
            clock=clock,
            sleep=clock.sleep,
        )

    marker = uuid.uuid4().hex
    try:
        client_errors = executor()
        for code in (404, 404, 404, 404, 404, 404, 400, 409, 410, 422):
            with pytest.raises(RuntimeHostError):
                await client_errors.call(handler.request, "GET", f"/status/{code}?m={marker}")
        assert client_errors.breaker is not None
        assert client_errors.breaker.state is EnumCircuitBreakerState.CLOSED
        sent = [r for r in await http_test_server.received() if r["query"] == {"m": marker}]
        assert len(sent) == 10  # once per call: no retry of a client error
        assert clock.sleeps == []
        assert (await client_errors.call(handler.request, "GET", "/echo")).status_code == 200
        for code in (500, 429):
            server_errors = executor()
            for _ in range(5):
                with pytest.raises(RuntimeHostError):
                    await server_errors.call(handler.request, "GET", f"/status/{code}")
            assert server_errors.breaker is not None
            assert server_errors.breaker.state is EnumCircuitBreakerState.OPEN, code
    finally:
        await handler.close()


@pytest.mark.parametrize("code", [401, 403])
async def test_auth_statuses_are_authentication_errors(http: HandlerHttp, code: int) -> None:
    """401 and 403 raise InfraAuthenticationError (refresh credentials, do not retry as is)."""
    with pytest.raises(InfraAuthenticationError) as caught:
        await http.request("GET", f"/status/{code}")
    assert caught.value.retriable is False


async def test_408_is_a_timeout(http: HandlerHttp) -> None:
    """A 408 from the server is a retriable InfraTimeoutError."""
    with pytest.raises(InfraTimeoutError) as caught:
        await http.request("GET", "/status/408")
    assert caught.value.retriable is True


@pytest.mark.parametrize("code", [500, 502, 504])
async def test_server_errors_are_retriable(http: HandlerHttp, code: int) -> None:
    """A 5xx raises a retriable InfraUnavailableError."""
    with pytest.raises(InfraUnavailableError) as caught:
        await http.request("GET", f"/status/{code}")
    assert caught.value.retriable is True
    assert caught.value.retry_after_seconds is None


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_seconds_is_parsed(http: HandlerHttp, code: int) -> None:
    """429 and 503 carry the server's Retry-After (delta-seconds) as retry_after_seconds."""
    with pytest.raises(InfraUnavailableError) as caught:
        await http.request("GET", f"/status/{code}", params={"retry_after": "7"})
    assert caught.value.retry_after_seconds == 7.0
    assert caught.value.retriable is True


async def test_retry_after_http_date_is_parsed(http: HandlerHttp) -> None:
    """A Retry-After HTTP-date in the future becomes a positive number of seconds."""
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    with pytest.raises(InfraUnavailableError) as caught:
        await http.request("GET", "/status/503", params={"retry_after": when})
    assert caught.value.retry_after_seconds is not None
    assert caught.value.retry_after_seconds > 60


async def test_slow_server_is_a_timeout(http_test_server: HttpTestServer) -> None:
    """A response slower than the timeout raises a retriable InfraTimeoutError."""
    handler = await _handler(http_test_server, timeout_seconds=0.2)
    try:
        with pytest.raises(InfraTimeoutError) as caught:
            await handler.request("GET", "/slow", params={"seconds": "2"})
    finally:
        await handler.close()
    assert caught.value.retriable is True


async def test_hung_server_is_a_timeout(http_test_server_fresh: HttpTestServer) -> None:
    """A server that accepts but never answers (SIGSTOP) raises InfraTimeoutError."""
    handler = await _handler(http_test_server_fresh, timeout_seconds=0.3)
    http_test_server_fresh.process.pause()
    try:
        with pytest.raises(InfraTimeoutError):
            await handler.request("GET", "/echo")
    finally:
        http_test_server_fresh.process.resume()
        await handler.close()


async def test_stopped_server_is_a_retriable_connection_error(
    http_test_server_fresh: HttpTestServer,
) -> None:
    """With the server gone, requests raise InfraConnectionError and a health ping fails."""
    handler = await _handler(
        http_test_server_fresh, health_url=f"{http_test_server_fresh.url}/health"
    )
    http_test_server_fresh.stop()
    try:
        with pytest.raises(InfraConnectionError) as caught:
            await handler.request("GET", "/echo")
        assert caught.value.retriable is True
        assert (await handler.ping()).healthy is False
    finally:
        await handler.close()


async def test_oversized_response_is_refused(http_test_server: HttpTestServer) -> None:
    """A body over max_response_bytes raises a non-retriable error instead of being buffered."""
    handler = await _handler(http_test_server, max_response_bytes=1000)
    try:
        assert len((await handler.request("GET", "/big", params={"bytes": "1000"})).body) == 1000
        with pytest.raises(RuntimeHostError) as caught:
            await handler.request("GET", "/big", params={"bytes": "5000"})
    finally:
        await handler.close()
    assert caught.value.retriable is False
    assert "1000" in caught.value.message


async def test_bad_scheme_and_unstarted_handler_are_refused(http: HandlerHttp) -> None:
    """An unsupported scheme is a configuration error; an unstarted handler a connection one."""
    with pytest.raises(ProtocolConfigurationError):
        await http.request("GET", "ftp://127.0.0.1/file")
    with pytest.raises(InfraConnectionError):
        await HandlerHttp(ModelHttpClientSettings()).request("GET", "http://127.0.0.1/")


async def test_errors_never_contain_credentials_from_headers_or_url(
    http_test_server: HttpTestServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Tokens in the Authorization header, the URL's user info or its query string appear in
    no error and no log line; the error names the URL without them."""
    token, query_token, password = _secret(), _secret(), _secret()
    handler = await _handler(http_test_server, bearer_token=SecretStr(token))
    url = f"http://svc:{password}@127.0.0.1:{http_test_server.port}/status/500?token={query_token}"
    try:
        with pytest.raises(InfraUnavailableError) as caught:
            await handler.request("GET", url, headers={"x-api-key": query_token})
    finally:
        await handler.close()
    text = error_surface(caught.value)
    captured = capfd.readouterr()
    for secret in (token, query_token, password):
        assert secret not in text
        assert secret not in captured.out + captured.err
    assert caught.value.infra_context.target_name == (
        f"http://127.0.0.1:{http_test_server.port}/status/500"
    )


# -- webhooks -------------------------------------------------------------------------------------


async def test_webhook_is_signed_as_standard_webhooks_says(
    http: HandlerHttp, http_test_server: HttpTestServer
) -> None:
    """A delivery is accepted by a Standard Webhooks verifier, and its signature matches an
    HMAC-SHA256 computed here by hand over id.timestamp.body."""
    message_id = "msg_" + uuid.uuid4().hex
    payload: JsonValue = {"event": "node.registered", "node": "n1", "n": 3}
    delivery = await http.deliver_webhook("/webhook", payload, message_id=message_id)
    assert delivery.status_code == 204
    assert delivery.message_id == message_id
    received = [r for r in await http_test_server.received() if r["path"] == "/webhook"]
    entry = next(
        r
        for r in received
        if isinstance(r["headers"], dict) and r["headers"].get(WEBHOOK_ID_HEADER) == message_id
    )
    headers = entry["headers"]
    body = entry["body"]
    assert isinstance(headers, dict)
    assert isinstance(body, str)
    assert json.loads(body) == payload
    assert headers["content-type"] == "application/json"
    assert headers[WEBHOOK_TIMESTAMP_HEADER] == str(delivery.timestamp)
    secret = http_test_server.webhook_secret
    assert secret is not None
    key = base64.b64decode(secret.get_secret_value().removeprefix("whsec_"))
    signed = f"{message_id}.{delivery.timestamp}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers[WEBHOOK_SIGNATURE_HEADER] == f"v1,{expected}"


async def test_webhook_message_id_is_generated_when_absent(http: HandlerHttp) -> None:
    """Without a message id each delivery gets a fresh one."""
    first = await http.deliver_webhook("/webhook", {"i": 1})
    second = await http.deliver_webhook("/webhook", {"i": 2})
    assert first.message_id.startswith("msg_")
    assert first.message_id != second.message_id


async def test_webhook_signed_with_the_wrong_secret_is_rejected(http: HandlerHttp) -> None:
    """A receiver that rejects the signature (401) surfaces as InfraAuthenticationError, and
    the secret used appears nowhere in it."""
    wrong = new_webhook_secret()
    with pytest.raises(InfraAuthenticationError) as caught:
        await http.deliver_webhook("/webhook", {"x": 1}, secret=wrong)
    assert wrong.get_secret_value() not in error_surface(caught.value)


async def test_webhook_to_a_failing_receiver_is_retriable(http: HandlerHttp) -> None:
    """A receiver answering 503 with Retry-After gives a retriable error with that delay."""
    with pytest.raises(InfraUnavailableError) as caught:
        await http.deliver_webhook("/status/503?retry_after=3", {"x": 1})
    assert caught.value.retry_after_seconds == 3.0


async def test_webhook_redirect_is_not_a_delivery(http: HandlerHttp) -> None:
    """A 3xx from a webhook receiver is not an acceptance: it raises, not retriable."""
    with pytest.raises(RuntimeHostError) as caught:
        await http.deliver_webhook("/redirect", {"x": 1})
    assert caught.value.retriable is False


async def test_webhook_without_a_secret_is_a_configuration_error(
    http_test_server: HttpTestServer,
) -> None:
    """Delivering with no signing secret anywhere is refused before sending."""
    handler = await _handler(http_test_server)
    try:
        with pytest.raises(ProtocolConfigurationError):
            await handler.deliver_webhook("/webhook", {"x": 1})
    finally:
        await handler.close()


def test_malformed_webhook_secret_is_refused_without_echo() -> None:
    """A secret that is not whsec_+base64 is a configuration error that does not echo it."""
    bad = "whsec_" + "!" * 3
    with pytest.raises(ProtocolConfigurationError) as caught:
        HandlerHttp(ModelHttpClientSettings(webhook_secret=SecretStr(bad)))
    assert bad not in error_surface(caught.value)


def test_settings_refuse_non_http_urls_without_echoing_secrets() -> None:
    """Settings reject a non-http base URL; the validation error has no secret in it."""
    token = _secret()
    with pytest.raises(ValidationError) as caught:
        ModelHttpClientSettings.model_validate({"base_url": "file:///etc", "bearer_token": token})
    assert token not in str(caught.value)


# -- helpers --------------------------------------------------------------------------------------


def test_parse_retry_after_handles_both_forms_and_garbage() -> None:
    """Retry-After parses delta-seconds and HTTP-dates, clamps the past to 0, rejects junk."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    for junk in (None, "", "soon", "inf", "nan"):
        assert parse_retry_after(junk) is None


def test_safe_url_drops_user_info_query_and_fragment() -> None:
    """Targets keep scheme, host, port and path only."""
    assert safe_url("https://u:p@api.example.com:8443/v1/x?token=t#frag") == (
        "https://api.example.com:8443/v1/x"
    )
    assert safe_url("http://127.0.0.1:8200/") == "http://127.0.0.1:8200"
