"""Translation of asyncpg and OS errors into this package's error tree, at the handler boundary.

==============================================  =====================================  =========
driver error                                    raised as                              retriable
==============================================  =====================================  =========
refused, reset, lost, server shutting down,     ``InfraConnectionError``               yes
too many connections, closed connection
query canceled (57014), client-side timeout     ``InfraTimeoutError``                  yes
invalid password / authorization (class 28)     ``InfraAuthenticationError``           no
serialization failure, deadlock (class 40)      ``RuntimeHostError``                   yes
constraint violations, other SQL errors         ``RuntimeHostError``                   no
==============================================  =====================================  =========

Messages carry the error class, the SQLSTATE and the server's primary message, never the
query's arguments or the server's DETAIL (which quotes row values).
"""

from __future__ import annotations

import re
from typing import Literal

import asyncpg
from prometheus_client import Counter

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    RuntimeHostError,
)
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.observability.metrics import REGISTRY

__all__ = ["PostgresErrorKind", "classify_postgres_error", "translate_postgres_error"]

PostgresErrorKind = Literal["connection", "timeout", "authentication", "transient", "query"]

_ERRORS = Counter(
    "onex_postgres_errors_total",
    "PostgreSQL errors translated at the handler boundary, by kind.",
    ["kind"],
    registry=REGISTRY,
)
_ERRORS_BY_KIND = {
    kind: _ERRORS.labels(kind=kind)
    for kind in ("connection", "timeout", "authentication", "transient", "query")
}

# SQLSTATEs raised while the server stops or starts, or when it has no connection slot left.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53000"})
# asyncpg's client-side DataError quotes the offending argument after the colon.
_ARGUMENT_VALUE = re.compile(r"(invalid input for query argument \$\d+)[:].*", re.S)


def classify_postgres_error(
    error: BaseException, *, connection_closed: bool = False
) -> PostgresErrorKind:
    """Which kind of failure a driver exception is (see the module's table)."""
    if isinstance(error, asyncpg.QueryCanceledError | TimeoutError):
        return "timeout"
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return "authentication"
    if isinstance(error, asyncpg.TransactionRollbackError):
        return "transient"
    if isinstance(error, OSError | asyncpg.PostgresConnectionError):
        return "connection"
    if isinstance(error, asyncpg.PostgresError) and error.sqlstate in _UNAVAILABLE_SQLSTATES:
        return "connection"
    if connection_closed or (
        isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
    ):
        return "connection"
    return "query"


def _describe(error: BaseException) -> str:
    """The error class, SQLSTATE and primary message, without DETAIL or query arguments."""
    name = type(error).__name__
    # The primary message only: str() of a PostgresError appends DETAIL, which quotes rows.
    message = (str(getattr(error, "message", "") or "") or str(error)).split("\n", 1)[0]
    # asyncpg reports a bad query argument as "invalid input for query argument $1: <value>".
    message = _ARGUMENT_VALUE.sub(r"\1", message)
    if isinstance(error, asyncpg.PostgresError):
        name = f"{name} [{error.sqlstate}]"
    return f"{name}: {message}" if message else name


def translate_postgres_error(
    error: Exception,
    *,
    operation: str,
    target_name: str,
    connection_closed: bool = False,
) -> RuntimeHostError:
    """Return the package error for ``error`` (to be raised ``from error`` by the caller)."""
    kind = classify_postgres_error(error, connection_closed=connection_closed)
    _ERRORS_BY_KIND[kind].inc()
    context = ModelInfraErrorContext(
        transport_type=EnumInfraTransportType.DATABASE,
        operation=operation,
        target_name=target_name,
    )
    detail = _describe(error)
    sqlstate = error.sqlstate if isinstance(error, asyncpg.PostgresError) else None
    if kind == "timeout":
        return InfraTimeoutError(
            f"PostgreSQL {operation} timed out: {detail}", context=context, sqlstate=sqlstate
        )
    if kind == "authentication":
        return InfraAuthenticationError(
            f"PostgreSQL rejected the credentials ({detail})", context=context, sqlstate=sqlstate
        )
    if kind == "connection":
        return InfraConnectionError(
            f"PostgreSQL connection failed during {operation}: {detail}",
            context=context,
            sqlstate=sqlstate,
        )
    if kind == "transient":
        return RuntimeHostError(
            f"PostgreSQL transaction conflict, retry it: {detail}",
            context=context,
            retriable=True,
            error_code=EnumCoreErrorCode.DATABASE_OPERATION_ERROR,
            sqlstate=sqlstate,
        )
    constraint = getattr(error, "constraint_name", None)
    return RuntimeHostError(
        f"PostgreSQL {operation} failed: {detail}",
        context=context,
        retriable=False,
        error_code=EnumCoreErrorCode.DATABASE_QUERY_ERROR,
        sqlstate=sqlstate,
        constraint=constraint if isinstance(constraint, str) else None,
    )
