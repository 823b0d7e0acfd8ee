"""ModelPostgresSettings: DSN parsing, validation, and a password that never shows."""

from __future__ import annotations

from uuid import uuid4

import pytest
from pydantic import SecretStr, ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings


def test_dsn_is_parsed_into_fields() -> None:
    """Every part of a DSN lands in its field, percent-decoded; the password as a SecretStr."""
    settings = ModelPostgresSettings.from_dsn(
        "postgresql://app%40svc:p%2Fw%3Ad@db.internal:6543/orders"
        "?sslmode=require&application_name=node&connect_timeout=3"
    )
    assert settings.user == "app@svc"
    assert isinstance(settings.password, SecretStr)
    assert settings.password.get_secret_value() == "p/w:d"
    assert (settings.host, settings.port, settings.database) == ("db.internal", 6543, "orders")
    assert settings.ssl == "require"
    assert settings.application_name == "node"
    assert settings.connect_timeout_seconds == 3.0


def test_overrides_win_over_the_dsn() -> None:
    """Keyword overrides replace or add settings the DSN does not carry."""
    settings = ModelPostgresSettings.from_dsn(
        "postgres://u@h/db", pool_max_size=30, statement_timeout_seconds=2
    )
    assert settings.pool_max_size == 30
    assert settings.statement_timeout_seconds == 2.0
    assert settings.password is None
    assert settings.port == 5432


def test_target_name_has_no_credentials() -> None:
    """target_name is host:port/database only."""
    settings = ModelPostgresSettings.from_dsn("postgresql://user:pw-123456@h:1/d")
    assert settings.target_name == "h:1/d"


@pytest.mark.parametrize(
    "dsn",
    [
        "mysql://u:p@h/db",
        "postgresql://u:p@h/db?sslmode=require&options=-c%20x",
        "postgresql://u:p@h:99999/db",
        "postgresql://u:p@h/",
        "postgresql://:p@h/db",
        "postgresql://u:p@h/db?sslmode=sometimes",
    ],
)
def test_bad_dsn_is_a_configuration_error_without_the_password(dsn: str) -> None:
    """An unusable DSN raises ProtocolConfigurationError, whose text omits the password."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelPostgresSettings.from_dsn(dsn.replace("u:p@", "u:pw-not-registered-9f3@"))
    assert "pw-not-registered-9f3" not in str(caught.value)
    assert caught.value.field == "dsn"


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:ab/cdSECRET9@127.0.0.1:5432/db",  # '/' ends the authority early
        "postgresql://u:pa?ssSECRET9@127.0.0.1:5432/db",  # '?' starts a query
        "postgresql://u:pa#ssSECRET9@127.0.0.1:5432/db",  # '#' starts a fragment
        "postgresql://u:p@h/db?ssSECRET9=1",  # an unknown parameter is not named
        "postgresql://u:[SECRET9@h/db",  # an unclosed IPv6 bracket
        "abSECRET9:rest@h/db",  # not a URL at all: its "scheme" is a piece of a password
        "SECRET9-a-bare-password",
        "host=h user=u password=SECRET9",  # libpq keyword form
    ],
)
def test_no_piece_of_a_malformed_dsn_is_shown(dsn: str) -> None:
    """A malformed DSN (a password with '/', '?' or '#', a non-URL literal) is refused with a
    reason and the encoding hint, quoting no fragment of it, not even the parser's view."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelPostgresSettings.from_dsn(dsn)
    error = caught.value
    for text in (error.message, str(error), repr(error), str(error.model.context)):
        assert "SECRET9" not in text
        for fragment in ("ab", "pa", "ss", "cd"):
            assert f"'{fragment}'" not in text
    assert "not shown" in error.message
    assert error.field == "dsn"


def test_pool_bounds_are_checked() -> None:
    """pool_min_size above pool_max_size is refused."""
    with pytest.raises(ValidationError):
        ModelPostgresSettings(database="d", user="u", pool_min_size=5, pool_max_size=2)


def test_password_absent_from_every_rendering() -> None:
    """repr, str, model_dump and JSON never contain the password (not even unregistered)."""
    password = f"unregistered-{uuid4().hex}"
    settings = ModelPostgresSettings(database="d", user="u", password=SecretStr(password))
    renderings = [
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
    ]
    assert all(password not in text for text in renderings)
