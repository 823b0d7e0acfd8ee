"""Translation of asyncpg and OS errors into the package's error tree (pure mapping)."""

from __future__ import annotations

import asyncpg
import pytest

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    RuntimeHostError,
)
from omnibase_infra.handlers.postgres.errors import (
    classify_postgres_error,
    translate_postgres_error,
)

_TARGET = "127.0.0.1:5999/app"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection"),
        (ConnectionResetError(104, "reset"), "connection"),
        (asyncpg.ConnectionDoesNotExistError("closed in the middle"), "connection"),
        (asyncpg.AdminShutdownError("terminating connection"), "connection"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), "connection"),
        (asyncpg.TooManyConnectionsError("too many clients"), "connection"),
        (asyncpg.InterfaceError("cannot perform operation: connection is closed"), "connection"),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), "timeout"),
        (TimeoutError(), "timeout"),
        (asyncpg.InvalidPasswordError("password authentication failed"), "authentication"),
        (
            asyncpg.InvalidAuthorizationSpecificationError("not permitted to log in"),
            "authentication",
        ),
        (asyncpg.SerializationError("could not serialize access"), "transient"),
        (asyncpg.DeadlockDetectedError("deadlock detected"), "transient"),
        (asyncpg.UniqueViolationError("duplicate key"), "query"),
        (asyncpg.PostgresSyntaxError("syntax error"), "query"),
        (asyncpg.InsufficientPrivilegeError("permission denied"), "query"),
        (asyncpg.InterfaceError("the server expects 1 argument"), "query"),
    ],
)
def test_classification_table(error: BaseException, kind: str) -> None:
    """Each driver error falls in the kind the module's table documents."""
    assert classify_postgres_error(error) == kind


def test_error_on_a_closed_connection_is_a_connection_error() -> None:
    """Whatever the driver raised, a connection found closed afterwards means it was lost."""
    assert classify_postgres_error(asyncpg.InterfaceError("x"), connection_closed=True) == (
        "connection"
    )


@pytest.mark.parametrize(
    ("error", "expected_type", "retriable"),
    [
        (ConnectionRefusedError(111, "refused"), InfraConnectionError, True),
        (asyncpg.QueryCanceledError("canceling statement"), InfraTimeoutError, True),
        (asyncpg.InvalidPasswordError("bad password"), InfraAuthenticationError, False),
        (asyncpg.SerializationError("could not serialize"), RuntimeHostError, True),
        (asyncpg.UniqueViolationError("duplicate key"), RuntimeHostError, False),
    ],
)
def test_translation_type_and_retriability(
    error: Exception, expected_type: type[RuntimeHostError], retriable: bool
) -> None:
    """Each kind becomes its documented error class with its documented retriability."""
    translated = translate_postgres_error(error, operation="fetch", target_name=_TARGET)
    assert type(translated) is expected_type
    assert translated.retriable is retriable
    assert translated.infra_context.transport_type is EnumInfraTransportType.DATABASE
    assert translated.infra_context.operation == "fetch"
    assert translated.infra_context.target_name == _TARGET


def test_rejected_credentials_say_why_without_being_masked() -> None:
    """A refused login names the driver's error class and reason: the sanitiser reads
    "credentials: X" as a secret and masked X, so the message no longer puts it that way."""
    error = asyncpg.InvalidPasswordError('password authentication failed for user "svc"')
    translated = translate_postgres_error(error, operation="start", target_name=_TARGET)
    assert "InvalidPasswordError" in translated.message
    assert "password authentication failed" in translated.message


def test_connection_error_uses_the_database_code() -> None:
    """A lost database connection carries DATABASE_CONNECTION_ERROR."""
    translated = translate_postgres_error(
        ConnectionRefusedError(111, "refused"), operation="start", target_name=_TARGET
    )
    assert translated.error_code == EnumCoreErrorCode.DATABASE_CONNECTION_ERROR


def test_query_error_keeps_sqlstate_and_constraint_but_not_detail() -> None:
    """A constraint violation names SQLSTATE and constraint; its DETAIL (row values) is dropped."""
    error = asyncpg.UniqueViolationError('duplicate key value violates unique constraint "u"')
    error.detail = "Key (email)=(someone-private) already exists."
    error.constraint_name = "u"
    translated = translate_postgres_error(error, operation="execute", target_name=_TARGET)
    assert translated.error_code == EnumCoreErrorCode.DATABASE_QUERY_ERROR
    assert translated.model.context["sqlstate"] == "23505"
    assert translated.model.context["constraint"] == "u"
    assert "duplicate key value" in translated.message
    assert "someone-private" not in str(translated)
    assert "someone-private" not in translated.model_dump_json()


def test_bad_argument_value_is_not_echoed() -> None:
    """asyncpg's 'invalid input for query argument' loses the argument's value."""
    error = asyncpg.DataError("invalid input for query argument $2: 'hunter2-value' (expected int)")
    translated = translate_postgres_error(error, operation="execute", target_name=_TARGET)
    assert "$2" in translated.message
    assert "hunter2-value" not in str(translated)
