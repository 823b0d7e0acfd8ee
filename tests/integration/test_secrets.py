"""Secret references: parsing, env/file/vault resolution, settings walking, no leaks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from omnibase_infra.errors import InfraConnectionError, SecretResolutionError
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.runtime.secrets import (
    SecretReference,
    is_secret_reference,
    parse_secret_reference,
    resolve_secret,
    resolve_secret_fields,
)
from omnibase_infra.sanitize import MASK, sanitize_text
from omnibase_infra.testing import OpenBaoServer, error_surface


def _fresh_secret() -> str:
    return "sv-" + uuid.uuid4().hex


def _private_file(directory: Path, content: str, mode: int = 0o600) -> Path:
    path = directory / f"secret-{uuid.uuid4().hex[:8]}"
    path.write_text(content)
    path.chmod(mode)
    return path


class ModelInner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password: SecretStr | None = None
    user: str = "svc"


class ModelOuter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    token: SecretStr | None = None
    inner: ModelInner = ModelInner()
    extra_tokens: list[SecretStr] = []
    name: str = "x"


# -- parsing ------------------------------------------------------------------------------------


def test_parse_each_scheme_into_its_parts() -> None:
    """Each scheme parses into the fields that locate its secret."""
    vault = parse_secret_reference("vault://secret/onex/db#password")
    assert (vault.scheme, vault.mount, vault.path, vault.key) == (
        "vault",
        "secret",
        "onex/db",
        "password",
    )
    env = parse_secret_reference("env://DB_PASSWORD")
    assert (env.scheme, env.env_name) == ("env", "DB_PASSWORD")
    file = parse_secret_reference("file:///run/secrets/db")
    assert file.scheme == "file"
    assert str(file.file_path) == "/run/secrets/db"
    assert is_secret_reference("env://X")
    assert not is_secret_reference("hunter2")


@pytest.mark.parametrize(
    "reference",
    [
        "vault://secret/onex/db",  # no key
        "vault://secret#key",  # no path
        "vault://secret/a/../b#key",  # traversal
        "env://1BAD",
        "env://",
        "file://relative/path",
        "file:///etc/../etc/shadow",
    ],
)
def test_malformed_references_raise_naming_the_reference(reference: str) -> None:
    """A malformed reference of a known scheme raises SecretResolutionError that names it."""
    with pytest.raises(SecretResolutionError) as caught:
        parse_secret_reference(reference)
    assert reference in caught.value.message
    assert caught.value.http_status == 404


@pytest.mark.parametrize(
    "value",
    ["ssm://param-Sec9", "plain-literal-Sec9", "host=db password=Sec9x", "Sec9:x@h/db"],
)
def test_a_value_that_is_no_reference_is_refused_without_echoing_it(value: str) -> None:
    """A value that is not a reference at all (most likely a literal secret) is refused
    without any piece of it in the error's message or context."""
    with pytest.raises(SecretResolutionError) as caught:
        parse_secret_reference(value)
    error = caught.value
    for text in (error.message, str(error), repr(error), str(error.model.context)):
        assert "Sec9" not in text
    assert "env://NAME" in error.message


def test_secret_reference_type_rejects_literals_without_echoing_them() -> None:
    """A SecretReference field accepts references and rejects a literal without echoing it."""

    class ModelConfig(BaseModel):
        model_config = ConfigDict(hide_input_in_errors=True)

        dsn: SecretReference

    assert ModelConfig(dsn="env://PG_DSN").dsn == "env://PG_DSN"
    literal = "postgresql://u:" + _fresh_secret() + "@h/db"
    with pytest.raises(ValidationError) as caught:
        ModelConfig(dsn=literal)
    assert literal not in str(caught.value)
    assert "secret reference" in str(caught.value)
    with pytest.raises(ValidationError):
        ModelConfig(dsn="vault://no-key")


# -- env:// ---------------------------------------------------------------------------------------


async def test_env_reference_resolves_and_is_masked_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An env reference resolves to a SecretStr whose value the sanitiser masks from then on."""
    value = _fresh_secret()
    monkeypatch.setenv("ONEX_TEST_SECRET_A", value)
    resolved = await resolve_secret("env://ONEX_TEST_SECRET_A")
    assert isinstance(resolved, SecretStr)
    assert resolved.get_secret_value() == value
    assert value not in repr(resolved)
    assert sanitize_text(f"connecting with {value} now") == f"connecting with {MASK} now"


@pytest.mark.parametrize("value", [None, ""])
async def test_env_reference_unset_or_empty_is_an_error(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    """An unset or empty variable raises SecretResolutionError naming the reference."""
    if value is None:
        monkeypatch.delenv("ONEX_TEST_SECRET_B", raising=False)
    else:
        monkeypatch.setenv("ONEX_TEST_SECRET_B", value)
    with pytest.raises(SecretResolutionError) as caught:
        await resolve_secret("env://ONEX_TEST_SECRET_B")
    assert "env://ONEX_TEST_SECRET_B" in caught.value.message


# -- file:// --------------------------------------------------------------------------------------


async def test_private_file_resolves_without_its_trailing_newline(tmp_path: Path) -> None:
    """A 0600 file resolves to its content minus one trailing line break."""
    value = _fresh_secret()
    path = _private_file(tmp_path, value + "\n")
    resolved = await resolve_secret(f"file://{path}")
    assert resolved.get_secret_value() == value


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
async def test_group_or_world_accessible_file_is_refused(tmp_path: Path, mode: int) -> None:
    """A secret file that group or others may access is refused with its mode and the fix,
    and its content appears nowhere in the error."""
    value = _fresh_secret()
    path = _private_file(tmp_path, value, mode)
    with pytest.raises(SecretResolutionError) as caught:
        await resolve_secret(f"file://{path}")
    message = caught.value.message
    assert f"{mode:04o}" in message
    assert "chmod 600" in message
    assert str(path) in message
    assert value not in error_surface(caught.value)


async def test_file_problems_each_raise_a_clear_error(tmp_path: Path) -> None:
    """Missing, directory, empty, oversized and non-UTF-8 files each raise with a reason."""
    empty = _private_file(tmp_path, "")
    big = _private_file(tmp_path, "x" * (64 * 1024 + 1))
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00secret")
    binary.chmod(0o600)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    cases = {
        tmp_path / "absent": "does not exist",
        folder: "not a regular file",
        empty: "empty",
        big: "over",
        binary: "not UTF-8",
    }
    for path, reason in cases.items():
        with pytest.raises(SecretResolutionError) as caught:
            await resolve_secret(f"file://{path}")
        assert reason in caught.value.message, path


# -- vault:// -------------------------------------------------------------------------------------


@pytest.fixture
async def vault(openbao_server: OpenBaoServer) -> AsyncIterator[HandlerVault]:
    handler = HandlerVault(
        ModelVaultSettings(url=openbao_server.url, token=openbao_server.root_token)
    )
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


@pytest.mark.integration
async def test_vault_reference_resolves_a_key_of_a_kv_secret(vault: HandlerVault) -> None:
    """vault://mount/path#key returns that key of the latest version, registered as secret."""
    path = f"onex/{uuid.uuid4().hex[:8]}/db"
    value = _fresh_secret()
    await vault.kv_write(path, {"password": value, "port": 5432})
    resolved = await resolve_secret(f"vault://secret/{path}#password", vault=vault)
    assert resolved.get_secret_value() == value
    assert MASK in sanitize_text(value)


@pytest.mark.integration
async def test_vault_reference_failures_name_the_reference(vault: HandlerVault) -> None:
    """A missing secret, a missing key, a non-string value and no handler each raise
    SecretResolutionError naming the reference."""
    path = f"onex/{uuid.uuid4().hex[:8]}/db"
    await vault.kv_write(path, {"port": 5432})
    cases = [
        (f"vault://secret/{path}-absent#password", "does not exist", vault),
        (f"vault://secret/{path}#password", "lacks", vault),
        (f"vault://secret/{path}#port", "not a string", vault),
        (f"vault://secret/{path}#port", "no Vault handler", None),
    ]
    for reference, reason, handler in cases:
        with pytest.raises(SecretResolutionError) as caught:
            await resolve_secret(reference, vault=handler)
        assert reference in caught.value.message
        assert reason in caught.value.message


@pytest.mark.integration
async def test_vault_down_is_a_retriable_resolution_error(
    openbao_server_fresh: OpenBaoServer,
) -> None:
    """When Vault is unreachable the resolution error is retriable and chains the cause."""
    handler = HandlerVault(
        ModelVaultSettings(url=openbao_server_fresh.url, token=openbao_server_fresh.root_token)
    )
    await handler.start()
    openbao_server_fresh.stop()
    try:
        with pytest.raises(SecretResolutionError) as caught:
            await resolve_secret("vault://secret/a/b#c", vault=handler)
    finally:
        await handler.close()
    assert caught.value.retriable is True
    assert isinstance(caught.value.__cause__, InfraConnectionError)
    assert "vault://secret/a/b#c" in caught.value.message


# -- settings models ------------------------------------------------------------------------------


@pytest.mark.integration
async def test_resolve_secret_fields_walks_nested_models_and_lists(
    vault: HandlerVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every reference in SecretStr fields (nested models and lists included) is resolved;
    None stays None and non-secret fields are untouched."""
    from_env, from_file, from_vault = _fresh_secret(), _fresh_secret(), _fresh_secret()
    monkeypatch.setenv("ONEX_TEST_SECRET_C", from_env)
    secret_file = _private_file(tmp_path, from_file)
    path = f"onex/{uuid.uuid4().hex[:8]}/api"
    await vault.kv_write(path, {"token": from_vault})
    settings = ModelOuter.model_validate(
        {
            "token": "env://ONEX_TEST_SECRET_C",
            "inner": {"password": f"file://{secret_file}"},
            "extra_tokens": [f"vault://secret/{path}#token", "env://ONEX_TEST_SECRET_C"],
        }
    )
    resolved = await resolve_secret_fields(settings, vault=vault)
    assert resolved.token is not None
    assert resolved.token.get_secret_value() == from_env
    assert resolved.inner.password is not None
    assert resolved.inner.password.get_secret_value() == from_file
    assert [s.get_secret_value() for s in resolved.extra_tokens] == [from_vault, from_env]
    assert resolved.name == "x"
    assert resolved.inner.user == "svc"
    for value in (from_env, from_file, from_vault):
        assert value not in repr(resolved)
        assert value not in resolved.model_dump_json()
    nothing = await resolve_secret_fields(ModelOuter(), vault=None)
    assert nothing.token is None
    assert nothing.inner.password is None


async def test_literal_secret_in_settings_is_refused_by_field_name() -> None:
    """A literal in a secret field is refused naming the field, never the value, and the
    value is masked from then on; allow_literals keeps it for programmatic set-ups."""
    literal = _fresh_secret()
    settings = ModelOuter(inner=ModelInner(password=SecretStr(literal)))
    with pytest.raises(SecretResolutionError) as caught:
        await resolve_secret_fields(settings)
    assert "inner.password" in caught.value.message
    assert literal not in error_surface(caught.value)
    assert literal not in sanitize_text(f"echo {literal}")
    kept = await resolve_secret_fields(settings, allow_literals=True)
    assert kept.inner.password is not None
    assert kept.inner.password.get_secret_value() == literal


async def test_unresolvable_field_reference_stops_resolution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One unresolvable reference fails the whole call with that reference named."""
    monkeypatch.setenv("ONEX_TEST_SECRET_D", _fresh_secret())
    monkeypatch.delenv("ONEX_TEST_SECRET_MISSING", raising=False)
    settings = ModelOuter.model_validate(
        {"token": "env://ONEX_TEST_SECRET_D", "extra_tokens": ["env://ONEX_TEST_SECRET_MISSING"]}
    )
    with pytest.raises(SecretResolutionError) as caught:
        await resolve_secret_fields(settings)
    assert "env://ONEX_TEST_SECRET_MISSING" in caught.value.message


async def test_private_file_behind_a_symlink_resolves(tmp_path: Path) -> None:
    """A private file reached through a symlink resolves (mounted secrets are symlinks): the
    mode checked is the target's, on the descriptor that is read."""
    value = _fresh_secret()
    target = _private_file(tmp_path, value)
    link = tmp_path / "link"
    os.symlink(target, link)
    resolved = await resolve_secret(f"file://{link}")
    assert resolved.get_secret_value() == value
