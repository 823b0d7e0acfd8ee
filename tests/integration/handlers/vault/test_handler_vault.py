"""HandlerVault against a real OpenBao dev server: KV v2, auth, renewal, error translation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

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
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.testing import OpenBaoServer, error_surface

pytestmark = pytest.mark.integration

READ_POLICY = 'path "secret/data/*" { capabilities = ["read", "create", "update"] }'


def _unique(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def _root_settings(server: OpenBaoServer, **overrides: object) -> ModelVaultSettings:
    return ModelVaultSettings.model_validate(
        {"url": server.url, "token": server.root_token, **overrides}
    )


@pytest.fixture
async def vault(openbao_server: OpenBaoServer) -> AsyncIterator[HandlerVault]:
    handler = HandlerVault(_root_settings(openbao_server))
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


async def test_is_an_infra_handler_and_pings_healthy(vault: HandlerVault) -> None:
    """The handler satisfies ProtocolInfraHandler and a ping of a live server is healthy."""
    assert isinstance(vault, ProtocolInfraHandler)
    assert vault.handler_name == "vault"
    assert vault.transport_type is EnumInfraTransportType.VAULT
    result = await vault.ping()
    assert result.healthy, result.detail
    assert result.name == "vault"


async def test_kv_write_then_read_returns_data_and_versions(vault: HandlerVault) -> None:
    """Each write creates a new version; a read returns the latest or the version asked for."""
    path = _unique("app")
    assert await vault.kv_write(path, {"user": "svc", "password": "pw-one"}) == 1
    assert await vault.kv_write(path, {"user": "svc", "password": "pw-two"}) == 2
    latest = await vault.kv_read(path)
    assert latest is not None
    assert latest.version == 2
    assert latest.data == {"user": "svc", "password": "pw-two"}
    first = await vault.kv_read(path, version=1)
    assert first is not None
    assert first.data["password"] == "pw-one"


async def test_kv_read_of_a_missing_secret_returns_none(vault: HandlerVault) -> None:
    """A path with no secret reads as None rather than an error."""
    assert await vault.kv_read(_unique("missing")) is None


async def test_kv_list_lists_keys_and_folders(vault: HandlerVault) -> None:
    """Listing shows direct keys and sub-folders; an unknown folder lists as empty."""
    base = _unique("tree")
    await vault.kv_write(f"{base}/alpha", {"v": "1"})
    await vault.kv_write(f"{base}/sub/beta", {"v": "2"})
    assert sorted(await vault.kv_list(base)) == ["alpha", "sub/"]
    assert await vault.kv_list(_unique("empty")) == []


async def test_kv_delete_latest_then_all_versions(vault: HandlerVault) -> None:
    """A soft delete hides the latest version; deleting all versions removes the key."""
    base = _unique("del")
    path = f"{base}/item"
    await vault.kv_write(path, {"v": "1"})
    await vault.kv_write(path, {"v": "2"})
    await vault.kv_delete(path)
    assert await vault.kv_read(path) is None
    still_there = await vault.kv_read(path, version=1)
    assert still_there is not None
    assert still_there.data == {"v": "1"}
    await vault.kv_delete(path, all_versions=True)
    assert await vault.kv_read(path, version=1) is None
    assert await vault.kv_list(base) == []


async def test_kv_write_check_and_set_conflict_is_not_retriable(vault: HandlerVault) -> None:
    """A CAS write against the wrong version fails with a non-retriable error; the right one
    succeeds."""
    path = _unique("cas")
    assert await vault.kv_write(path, {"v": "1"}, cas=0) == 1
    with pytest.raises(RuntimeHostError) as caught:
        await vault.kv_write(path, {"v": "x"}, cas=0)
    assert caught.value.retriable is False
    assert "check-and-set" in caught.value.message
    assert await vault.kv_write(path, {"v": "2"}, cas=1) == 2


async def test_unknown_mount_is_a_configuration_error(vault: HandlerVault) -> None:
    """Reading from a mount that does not exist says so as a configuration error."""
    with pytest.raises(ProtocolConfigurationError):
        await vault.kv_read("x", mount="no-such-mount")


async def test_path_traversal_is_refused_before_any_request(vault: HandlerVault) -> None:
    """A KV path with '..' segments is rejected as a configuration error."""
    with pytest.raises(ProtocolConfigurationError):
        await vault.kv_read("app/../../sys/seal")


async def test_approle_login_reads_with_the_role_policy(openbao_server: OpenBaoServer) -> None:
    """An AppRole handler logs in at start and reads what its policy allows."""
    await openbao_server.create_policy("kv-rw", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle("reader", policies=("kv-rw",))
    path = _unique("approle")
    root = HandlerVault(_root_settings(openbao_server))
    await root.start()
    await root.kv_write(path, {"k": "v"})
    await root.close()
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    await handler.start()
    try:
        secret = await handler.kv_read(path)
        assert secret is not None
        assert secret.data == {"k": "v"}
        assert handler.token_ttl_seconds is not None  # a role token expires, unlike root's
    finally:
        await handler.close()


async def test_wrong_approle_secret_id_is_an_authentication_error(
    openbao_server: OpenBaoServer,
) -> None:
    """A rejected AppRole login raises InfraAuthenticationError without the secret id."""
    role_id, _ = await openbao_server.create_approle("wrong-secret")
    bad_secret = "bad-secret-" + uuid.uuid4().hex
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=SecretStr(bad_secret)
        )
    )
    with pytest.raises(InfraAuthenticationError) as caught:
        await handler.start()
    await handler.close()
    assert caught.value.retriable is False
    assert bad_secret not in error_surface(caught.value)


async def test_wrong_token_is_an_authentication_error_and_never_leaks(
    openbao_server: OpenBaoServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """A rejected token raises InfraAuthenticationError; the token is in no error, repr or log."""
    bad_token = "hvs." + uuid.uuid4().hex + uuid.uuid4().hex
    settings = ModelVaultSettings(url=openbao_server.url, token=SecretStr(bad_token))
    handler = HandlerVault(settings)
    with pytest.raises(InfraAuthenticationError) as caught:
        await handler.start()
    with pytest.raises(InfraAuthenticationError) as caught_read:
        await handler.kv_read("anything")
    await handler.close()
    assert caught.value.infra_context.transport_type is EnumInfraTransportType.VAULT
    assert caught.value.http_status == 401
    captured = capfd.readouterr()
    for text in (
        error_surface(caught.value),
        error_surface(caught_read.value),
        repr(handler),
        repr(settings),
        str(settings.model_dump()),
        captured.out + captured.err,
    ):
        assert bad_token not in text


async def test_permission_denied_is_an_authentication_error(
    openbao_server: OpenBaoServer,
) -> None:
    """A valid token without the policy for a path raises InfraAuthenticationError."""
    token = await openbao_server.create_token(policies=("default",))
    handler = HandlerVault(ModelVaultSettings(url=openbao_server.url, token=token))
    await handler.start()
    try:
        with pytest.raises(InfraAuthenticationError):
            await handler.kv_read(_unique("forbidden"))
    finally:
        await handler.close()


async def test_revoked_token_then_refresh_credentials_recovers(
    openbao_server: OpenBaoServer,
) -> None:
    """After its token is revoked the handler raises an auth error; refresh_credentials logs in
    again and the same call then succeeds (the executor's refresh-then-retry)."""
    await openbao_server.create_policy("kv-rw", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle("revoked", policies=("kv-rw",))
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    await handler.start()
    path = _unique("refresh")
    try:
        await handler.kv_write(path, {"v": "1"})
        await openbao_server.admin("PUT", "sys/leases/revoke-prefix/auth/approle/login")
        with pytest.raises(InfraAuthenticationError):
            await handler.kv_read(path)
        await handler.refresh_credentials()
        secret = await handler.kv_read(path)
        assert secret is not None
        assert secret.data == {"v": "1"}
    finally:
        await handler.close()


async def test_fixed_token_refresh_fails_when_the_token_is_revoked(
    openbao_server: OpenBaoServer,
) -> None:
    """With a fixed token there is nothing to log in with: refresh raises an auth error."""
    token = await openbao_server.create_token()
    handler = HandlerVault(ModelVaultSettings(url=openbao_server.url, token=token))
    await handler.start()
    await handler.refresh_credentials()  # a live renewable token refreshes fine
    await openbao_server.admin("POST", "auth/token/revoke", {"token": token.get_secret_value()})
    try:
        with pytest.raises(InfraAuthenticationError):
            await handler.refresh_credentials()
    finally:
        await handler.close()


async def test_renew_token_keeps_a_renewable_token_valid(openbao_server: OpenBaoServer) -> None:
    """Renewing a renewable child token succeeds and the token keeps working."""
    await openbao_server.create_policy("kv-rw", READ_POLICY)
    token = await openbao_server.create_token(ttl="10m", policies=("kv-rw",))
    handler = HandlerVault(ModelVaultSettings(url=openbao_server.url, token=token))
    await handler.start()
    try:
        assert handler.token_ttl_seconds is not None
        await handler.renew_token()
        assert handler.token_ttl_seconds is not None
        assert await handler.kv_read(_unique("renewed")) is None
    finally:
        await handler.close()


async def test_token_near_expiry_is_renewed_before_the_next_call(
    openbao_server: OpenBaoServer,
) -> None:
    """A token inside its renewal margin is renewed by the next call, which then succeeds."""
    await openbao_server.create_policy("kv-rw", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle(
        "short", ttl="2s", max_ttl="1h", policies=("kv-rw",)
    )
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    await handler.start()
    try:
        # The margin is half the 2 s lease: wait until the token is inside it.
        await asyncio.sleep(max(0.0, (handler.token_ttl_seconds or 0.0) - 0.9))
        before = handler.token_ttl_seconds or 0.0
        with capture_logs() as logs:
            assert await handler.kv_read(_unique("renewed")) is None
        assert (handler.token_ttl_seconds or 0.0) > before
        assert not any(entry["event"] == "vault login" for entry in logs)  # renewed, not re-logged
    finally:
        await handler.close()


async def test_token_past_its_max_ttl_is_replaced_by_a_new_login(
    openbao_server: OpenBaoServer,
) -> None:
    """When renewal cannot extend a token (max TTL reached) the handler logs in again."""
    await openbao_server.create_policy("kv-rw", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle(
        "capped", ttl="2s", max_ttl="2s", policies=("kv-rw",)
    )
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    await handler.start()
    try:
        await asyncio.sleep(max(0.0, (handler.token_ttl_seconds or 0.0) - 0.9))
        with capture_logs() as logs:
            assert await handler.kv_read(_unique("relogin")) is None
        assert any(entry["event"] == "vault login" for entry in logs)
    finally:
        await handler.close()


async def test_stopped_server_is_a_retriable_connection_error(
    openbao_server_fresh: OpenBaoServer,
) -> None:
    """With the server gone, calls raise InfraConnectionError and ping reports unhealthy."""
    handler = HandlerVault(_root_settings(openbao_server_fresh))
    await handler.start()
    openbao_server_fresh.stop()
    try:
        with pytest.raises(InfraConnectionError) as caught:
            await handler.kv_read("app/x")
        assert caught.value.retriable is True
        result = await handler.ping()
        assert result.healthy is False
        assert result.detail is not None
    finally:
        await handler.close()


async def test_hung_server_is_a_timeout_error(openbao_server_fresh: OpenBaoServer) -> None:
    """A server that accepts but never answers (SIGSTOP) raises InfraTimeoutError."""
    handler = HandlerVault(_root_settings(openbao_server_fresh, timeout_seconds=0.3))
    await handler.start()
    openbao_server_fresh.process.pause()
    try:
        with pytest.raises(InfraTimeoutError) as caught:
            await handler.kv_read("app/x")
        assert caught.value.retriable is True
        assert (await handler.ping()).healthy is False
    finally:
        openbao_server_fresh.process.resume()
        await handler.close()


async def test_sealed_server_is_unavailable(openbao_server_fresh: OpenBaoServer) -> None:
    """A sealed server raises a retriable InfraUnavailableError; ping says it is sealed."""
    handler = HandlerVault(_root_settings(openbao_server_fresh))
    await handler.start()
    await openbao_server_fresh.seal()
    try:
        with pytest.raises(InfraUnavailableError) as caught:
            await handler.kv_read("app/x")
        assert caught.value.retriable is True
        result = await handler.ping()
        assert result.healthy is False
        assert result.detail is not None
        assert "sealed" in result.detail
    finally:
        await handler.close()


async def test_calls_before_start_are_refused(openbao_server: OpenBaoServer) -> None:
    """A handler that was never started raises a connection error instead of crashing."""
    handler = HandlerVault(_root_settings(openbao_server))
    with pytest.raises(InfraConnectionError):
        await handler.kv_read("app/x")
    await handler.close()
    await handler.close()  # closing twice is safe


def test_settings_reject_half_an_approle_and_never_echo_secrets() -> None:
    """Settings refuse an AppRole without its secret id, or a token plus AppRole, without
    echoing any secret in the validation error."""
    with pytest.raises(ValidationError):
        ModelVaultSettings(approle_role_id="role")
    token = "s." + uuid.uuid4().hex
    with pytest.raises(ValidationError) as caught:
        ModelVaultSettings.model_validate(
            {"token": token, "approle_role_id": "r", "approle_secret_id": "sid-" + token}
        )
    assert token not in str(caught.value)
    with pytest.raises(ValidationError) as caught_url:
        ModelVaultSettings.model_validate({"url": "ftp://vault", "token": token})
    assert token not in str(caught_url.value)


def test_secret_data_is_not_in_the_repr() -> None:
    """A read secret's repr shows where it came from, not its values."""
    from omnibase_infra.handlers.vault.model_vault_secret import ModelVaultSecret

    secret = ModelVaultSecret(mount="secret", path="a/b", version=3, data={"pw": "hunter2-xyz"})
    assert "hunter2-xyz" not in repr(secret)
    assert "a/b" in repr(secret)


async def test_effect_executor_refreshes_credentials_and_retries_once(
    openbao_server: OpenBaoServer,
) -> None:
    """Wired into the effect executor as its credential refresher, the handler recovers from a
    revoked token: the executor refreshes once and the retried call succeeds."""
    from omnibase_infra.resilience.effect.executor import EffectExecutor
    from omnibase_infra.resilience.effect.protocol_credential_refresher import (
        ProtocolCredentialRefresher,
    )

    await openbao_server.create_policy("kv-rw", READ_POLICY)
    role_id, secret_id = await openbao_server.create_approle("executor", policies=("kv-rw",))
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    assert isinstance(handler, ProtocolCredentialRefresher)
    executor = EffectExecutor(
        "secrets.read",
        transport_type=EnumInfraTransportType.VAULT,
        credential_refresher=handler,
    )
    await handler.start()
    path = _unique("executor")
    try:
        await handler.kv_write(path, {"v": "1"})
        await openbao_server.admin("PUT", "sys/leases/revoke-prefix/auth/approle/login")
        secret = await executor.call(handler.kv_read, path)
        assert secret is not None
        assert secret.data == {"v": "1"}
    finally:
        await handler.close()
