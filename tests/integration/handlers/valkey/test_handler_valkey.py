"""HandlerValkey against a real Valkey server: key/value, counters, locks, error translation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr, ValidationError

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
from omnibase_infra.handlers.valkey.handler_valkey import HandlerValkey
from omnibase_infra.handlers.valkey.model_valkey_lock import ModelValkeyLock
from omnibase_infra.handlers.valkey.model_valkey_settings import ModelValkeySettings
from omnibase_infra.testing import ValkeyServer, error_surface

pytestmark = pytest.mark.integration


def _key() -> str:
    return "k-" + uuid.uuid4().hex[:12]


def _settings(server: ValkeyServer, **overrides: object) -> ModelValkeySettings:
    values: dict[str, object] = {"host": server.host, "port": server.port}
    if server.password is not None:
        values["password"] = server.password
    values.update(overrides)
    return ModelValkeySettings.model_validate(values)


@pytest.fixture
async def valkey(valkey_server: ValkeyServer) -> AsyncIterator[HandlerValkey]:
    handler = HandlerValkey(_settings(valkey_server))
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


async def test_is_an_infra_handler_and_pings_healthy(valkey: HandlerValkey) -> None:
    """The handler satisfies ProtocolInfraHandler and PING of a live server is healthy."""
    assert isinstance(valkey, ProtocolInfraHandler)
    assert valkey.handler_name == "valkey"
    assert valkey.transport_type is EnumInfraTransportType.VALKEY
    result = await valkey.ping()
    assert result.healthy, result.detail


async def test_set_then_get_round_trips_values(valkey: HandlerValkey) -> None:
    """Strings, bytes and numbers come back as bytes; a missing key reads as None."""
    for value, expected in (("text", b"text"), (b"\x00\xffraw", b"\x00\xffraw"), (42, b"42")):
        key = _key()
        assert await valkey.set(key, value) is True
        assert await valkey.get(key) == expected
    assert await valkey.get(_key()) is None


async def test_ttl_makes_a_key_expire(valkey: HandlerValkey) -> None:
    """A key set with a TTL reports an expiry and is gone once it passes; a plain key has none."""
    key, plain = _key(), _key()
    await valkey.set(key, "v", ttl_seconds=0.2)
    await valkey.set(plain, "v")
    assert await valkey.ttl_seconds(key) is not None
    assert await valkey.ttl_seconds(plain) is None
    await asyncio.sleep(0.4)
    assert await valkey.get(key) is None
    assert await valkey.get(plain) == b"v"


async def test_only_if_absent_does_not_overwrite(valkey: HandlerValkey) -> None:
    """only_if_absent sets a new key but leaves an existing one untouched."""
    key = _key()
    assert await valkey.set(key, "first", only_if_absent=True) is True
    assert await valkey.set(key, "second", only_if_absent=True) is False
    assert await valkey.get(key) == b"first"


async def test_delete_counts_existing_keys(valkey: HandlerValkey) -> None:
    """delete returns how many of the given keys existed and removes them."""
    a, b = _key(), _key()
    await valkey.set(a, "1")
    await valkey.set(b, "2")
    assert await valkey.delete(a, b, _key()) == 2
    assert await valkey.get(a) is None
    assert await valkey.delete() == 0


async def test_incr_is_atomic_across_clients(
    valkey: HandlerValkey, valkey_server: ValkeyServer
) -> None:
    """Concurrent increments from two handlers all count; incr by an amount adds it."""
    key = _key()
    other = HandlerValkey(_settings(valkey_server))
    await other.start()
    try:
        await asyncio.gather(*(h.incr(key) for h in (valkey, other) for _ in range(25)))
    finally:
        await other.close()
    assert await valkey.get(key) == b"50"
    assert await valkey.incr(key, 5) == 55


async def test_incr_of_a_non_integer_is_a_non_retriable_error(valkey: HandlerValkey) -> None:
    """A command the server refuses (not an integer) raises a non-retriable error."""
    key = _key()
    await valkey.set(key, "not-a-number")
    with pytest.raises(RuntimeHostError) as caught:
        await valkey.incr(key)
    assert caught.value.retriable is False
    assert not isinstance(caught.value, InfraConnectionError)


async def test_key_prefix_namespaces_every_key(
    valkey: HandlerValkey, valkey_server: ValkeyServer
) -> None:
    """A handler with a key prefix stores under prefix+key."""
    prefix = f"ns-{uuid.uuid4().hex[:6]}:"
    scoped = HandlerValkey(_settings(valkey_server, key_prefix=prefix))
    await scoped.start()
    try:
        await scoped.set("item", "v")
        assert await valkey.get(f"{prefix}item") == b"v"
        assert await valkey.get("item") is None
    finally:
        await scoped.close()


async def test_lock_excludes_a_second_owner_until_released(valkey: HandlerValkey) -> None:
    """A held lock cannot be taken again; a forged token cannot release it; the owner can."""
    name = _key()
    lock = await valkey.acquire_lock(name, ttl_seconds=10)
    assert lock is not None
    assert await valkey.acquire_lock(name, ttl_seconds=10) is None
    forged = ModelValkeyLock(name=name, key=lock.key, token="f" * 32, ttl_seconds=10)
    assert await valkey.release_lock(forged) is False
    assert await valkey.acquire_lock(name, ttl_seconds=10) is None
    assert await valkey.release_lock(lock) is True
    again = await valkey.acquire_lock(name, ttl_seconds=10)
    assert again is not None
    assert await valkey.release_lock(again) is True


async def test_expired_lock_taken_over_is_not_released_by_the_old_owner(
    valkey: HandlerValkey,
) -> None:
    """After a lock expires and another owner takes it, the first owner's release is a no-op."""
    name = _key()
    first = await valkey.acquire_lock(name, ttl_seconds=0.1)
    assert first is not None
    second = await valkey.acquire_lock(name, ttl_seconds=10, wait_seconds=2)
    assert second is not None
    assert await valkey.release_lock(first) is False
    assert await valkey.acquire_lock(name, ttl_seconds=10) is None  # still the second's
    assert await valkey.release_lock(second) is True


async def test_waiting_acquire_gets_the_lock_when_released(valkey: HandlerValkey) -> None:
    """A waiting acquire succeeds once the holder releases within the wait."""
    name = _key()
    held = await valkey.acquire_lock(name, ttl_seconds=10)
    assert held is not None

    async def release_soon() -> None:
        await asyncio.sleep(0.1)
        await valkey.release_lock(held)

    releaser = asyncio.create_task(release_soon())
    waited = await valkey.acquire_lock(name, ttl_seconds=10, wait_seconds=5)
    await releaser
    assert waited is not None
    assert waited.token != held.token
    await valkey.release_lock(waited)


async def test_hold_lock_raises_unavailable_with_retry_after(valkey: HandlerValkey) -> None:
    """hold_lock on a held lock raises InfraUnavailableError carrying the holder's TTL;
    it releases its own lock on exit."""
    name = _key()
    async with valkey.hold_lock(name, ttl_seconds=30) as lock:
        assert lock.name == name
        with pytest.raises(InfraUnavailableError) as caught:
            async with valkey.hold_lock(name, ttl_seconds=30):
                pass
        assert caught.value.retry_after_seconds is not None
        assert caught.value.retriable is True
    free = await valkey.acquire_lock(name, ttl_seconds=1)
    assert free is not None
    assert free.token not in repr(free)
    assert await valkey.release_lock(free) is True


async def test_wrong_password_is_an_authentication_error_and_never_leaks(
    valkey_server_with_password: ValkeyServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """A wrong password raises InfraAuthenticationError; neither password appears anywhere."""
    wrong = "wrong-" + uuid.uuid4().hex
    settings = _settings(valkey_server_with_password, password=SecretStr(wrong))
    handler = HandlerValkey(settings)
    with pytest.raises(InfraAuthenticationError) as caught:
        await handler.start()
    result = await handler.ping()
    await handler.close()
    assert caught.value.retriable is False
    assert result.healthy is False
    real = valkey_server_with_password.password
    assert real is not None
    captured = capfd.readouterr()
    for text in (
        error_surface(caught.value),
        repr(handler),
        repr(settings),
        result.model_dump_json(),
        captured.out + captured.err,
    ):
        assert wrong not in text
        assert real.get_secret_value() not in text


async def test_missing_password_is_an_authentication_error(
    valkey_server_with_password: ValkeyServer,
) -> None:
    """Talking to a password-protected server without one raises InfraAuthenticationError."""
    handler = HandlerValkey(
        ModelValkeySettings(
            host=valkey_server_with_password.host, port=valkey_server_with_password.port
        )
    )
    with pytest.raises(InfraAuthenticationError):
        await handler.start()
    await handler.close()


async def test_right_password_works(valkey_server_with_password: ValkeyServer) -> None:
    """With the right password the handler reads and writes."""
    handler = HandlerValkey(_settings(valkey_server_with_password))
    await handler.start()
    try:
        key = _key()
        await handler.set(key, "v")
        assert await handler.get(key) == b"v"
    finally:
        await handler.close()


async def test_stopped_server_is_a_retriable_connection_error(
    valkey_server_fresh: ValkeyServer,
) -> None:
    """With the server gone, calls raise InfraConnectionError and ping reports unhealthy."""
    handler = HandlerValkey(_settings(valkey_server_fresh))
    await handler.start()
    valkey_server_fresh.stop()
    try:
        with pytest.raises(InfraConnectionError) as caught:
            await handler.get("k")
        assert caught.value.retriable is True
        assert (await handler.ping()).healthy is False
    finally:
        await handler.close()


async def test_hung_server_is_a_timeout_error(valkey_server_fresh: ValkeyServer) -> None:
    """A server that stops answering (SIGSTOP) raises a retriable InfraTimeoutError."""
    handler = HandlerValkey(_settings(valkey_server_fresh, socket_timeout_seconds=0.3))
    await handler.start()
    valkey_server_fresh.process.pause()
    try:
        with pytest.raises(InfraTimeoutError) as caught:
            await handler.get("k")
        assert caught.value.retriable is True
    finally:
        valkey_server_fresh.process.resume()
        await handler.close()


async def test_calls_before_start_and_bad_arguments_are_refused(
    valkey_server: ValkeyServer,
) -> None:
    """An unstarted handler, an empty key and a non-positive TTL each raise a typed error."""
    handler = HandlerValkey(_settings(valkey_server))
    with pytest.raises(InfraConnectionError):
        await handler.get("k")
    await handler.start()
    try:
        with pytest.raises(ProtocolConfigurationError):
            await handler.get("")
        with pytest.raises(ProtocolConfigurationError):
            await handler.set("k", "v", ttl_seconds=0)
        with pytest.raises(ProtocolConfigurationError):
            await handler.acquire_lock("l", ttl_seconds=-1)
    finally:
        await handler.close()
        await handler.close()


def test_settings_validation_errors_do_not_echo_the_password() -> None:
    """A settings validation error never contains the password given with it."""
    password = "pw-" + uuid.uuid4().hex
    with pytest.raises(ValidationError) as caught:
        ModelValkeySettings.model_validate({"password": password, "port": 0, "nope": password})
    assert password not in str(caught.value)
