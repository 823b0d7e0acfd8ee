"""``HandlerPostgresAdapter``: runs the operations a command names, with the contract's SQL.

The SQL comes only from the contract (``handler_config.operations``, validated when the node
is wired); a command names operations and gives parameter values, bound as ``$1..$n`` by the
driver, never spliced into text. One operation runs on its own; several run in one transaction
(all or none). Success is a ``ModelPostgresOperationsCompleted``; a failure the request caused
(an unknown operation, a missing parameter, a constraint, a bad value) is a
``ModelPostgresOperationsFailed``; an infrastructure failure is raised, so the contract's
retry, breaker and dead-letter policy deal with it (``nodes.adapters.failures``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

import asyncpg
from pydantic import BaseModel, JsonValue
from pydantic_core import to_jsonable_python

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.postgres.connection import PostgresConnection
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.adapters.failures import (
    AdapterRequestError,
    failure_reason,
    is_request_failure,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.enum_postgres_operation_returns import (
    EnumPostgresOperationReturns,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_adapter_config import (
    ModelPostgresAdapterConfig,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation_call import (
    ModelPostgresOperationCall,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation_result import (
    ModelPostgresOperationResult,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operations_completed import (
    ModelPostgresOperationsCompleted,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operations_failed import (
    ModelPostgresOperationsFailed,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_run_operations import (
    ModelPostgresRunOperations,
)

__all__ = ["HandlerPostgresAdapter"]


class HandlerPostgresAdapter:
    """The adapter's message handler (see module docstring)."""

    config_model: ClassVar[type[BaseModel]] = ModelPostgresAdapterConfig

    def __init__(self, container: ModelONEXContainer, config: ModelPostgresAdapterConfig) -> None:
        self._postgres = container.get_service(HandlerPostgres)
        self._config = config

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Run the command's operations; the outcome is the node's result event."""
        command = context.payload
        assert isinstance(command, ModelPostgresRunOperations)  # the route's input model
        current: list[str | None] = [None]
        try:
            results = await self._run(command.operations, current)
        except Exception as error:
            if not is_request_failure(error):
                raise  # the infrastructure's: retried, then dead-lettered
            return ModelNodeOutput(result=_failed(current[0], error))
        return ModelNodeOutput(result=ModelPostgresOperationsCompleted(results=results))

    async def _run(
        self, calls: Sequence[ModelPostgresOperationCall], current: list[str | None]
    ) -> tuple[ModelPostgresOperationResult, ...]:
        """Every call's result; ``current[0]`` names the call running (for a failure)."""
        if len(calls) > self._config.max_operations_per_command:
            raise AdapterRequestError(
                f"{len(calls)} operations exceed the limit of "
                f"{self._config.max_operations_per_command} per command"
            )
        bound: list[tuple[str, tuple[object, ...]]] = []
        for call in calls:
            current[0] = call.operation[:100]
            bound.append(self._bind(call))
        if len(bound) == 1:
            current[0] = calls[0].operation
            async with self._postgres.connection() as connection:
                return (await self._one(connection, *bound[0]),)
        results: list[ModelPostgresOperationResult] = []
        async with self._postgres.transaction() as transaction:
            for call, args in zip(calls, bound, strict=True):
                current[0] = call.operation
                results.append(await self._one(transaction, *args))
        current[0] = None
        return tuple(results)

    def _bind(self, call: ModelPostgresOperationCall) -> tuple[str, tuple[object, ...]]:
        """The operation's name and its values in ``$n`` order; refused when they differ."""
        operation = self._config.operations.get(call.operation)
        if operation is None:
            raise AdapterRequestError(f"unknown operation {call.operation[:100]!r}")
        missing = [name for name in operation.params if name not in call.params]
        extra = [name for name in call.params if name not in operation.params]
        if missing or extra:
            raise AdapterRequestError(
                f"operation {call.operation!r} takes parameters "
                f"({', '.join(operation.params)}); missing: {', '.join(missing) or 'none'}, "
                f"unknown: {', '.join(name[:64] for name in extra[:10]) or 'none'}"
            )
        return call.operation, tuple(_driver_value(call.params[name]) for name in operation.params)

    async def _one(
        self, connection: PostgresConnection, name: str, args: tuple[object, ...]
    ) -> ModelPostgresOperationResult:
        operation = self._config.operations[name]
        if operation.returns is EnumPostgresOperationReturns.STATUS:
            status = await connection.execute(operation.sql, *args)
            return ModelPostgresOperationResult(operation=name, status=status)
        records = await connection.fetch(operation.sql, *args)
        if len(records) > self._config.max_rows:
            raise AdapterRequestError(
                f"operation {name!r} returned {len(records)} rows, more than the limit of "
                f"{self._config.max_rows}"
            )
        return ModelPostgresOperationResult(operation=name, rows=_rows(records))


def _driver_value(value: JsonValue) -> object:
    """A JSON value as the driver binds it: objects as JSON text (json/jsonb parameters)."""
    return json.dumps(value) if isinstance(value, dict) else value


def _rows(records: Sequence[asyncpg.Record]) -> tuple[dict[str, JsonValue], ...]:
    """Rows as JSON values (UUIDs, timestamps and decimals as text)."""
    rows: list[dict[str, JsonValue]] = []
    for record in records:
        row = to_jsonable_python(dict(record.items()), fallback=str)
        assert isinstance(row, dict)
        rows.append(row)
    return tuple(rows)


def _failed(operation: str | None, error: BaseException) -> ModelPostgresOperationsFailed:
    cause = error.__cause__
    sqlstate = cause.sqlstate if isinstance(cause, asyncpg.PostgresError) else None
    return ModelPostgresOperationsFailed(
        operation=operation,
        error_type=type(cause if isinstance(cause, asyncpg.PostgresError) else error).__name__,
        reason=failure_reason(error),
        sqlstate=sqlstate if isinstance(sqlstate, str) else None,
    )
