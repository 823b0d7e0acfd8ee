"""The transfer's steps and compensation, registered by the names its contract declares."""

from collections.abc import Mapping

from pydantic import JsonValue

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience import StepAction, StepCompensation
from runtime_testnodes.models import ModelRtTransfer

_MOVE = "UPDATE rtest_accounts SET balance = balance + $2 WHERE id = $1 RETURNING balance"


class HandlerRtTransfer:
    """debit (undone by refund), then credit; each a statement on ``rtest_accounts``."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._postgres = container.get_service(HandlerPostgres)

    def step_actions(self, context: DispatchContext) -> Mapping[str, StepAction]:
        """The two steps of this transfer."""
        transfer = context.payload
        assert isinstance(transfer, ModelRtTransfer)

        async def debit(earlier: Mapping[str, JsonValue]) -> JsonValue:
            return await self._move(transfer.source, -transfer.amount)

        async def credit(earlier: Mapping[str, JsonValue]) -> JsonValue:
            return await self._move(transfer.target, transfer.amount)

        return {"debit": debit, "credit": credit}

    def step_compensations(self, context: DispatchContext) -> Mapping[str, StepCompensation]:
        """Refund undoes the debit, and says so in ``rtest_compensations``."""
        transfer = context.payload
        assert isinstance(transfer, ModelRtTransfer)

        async def refund(result: JsonValue) -> None:
            async with self._postgres.transaction() as connection:
                await connection.execute(_MOVE, transfer.source, transfer.amount)
                await connection.execute(
                    "INSERT INTO rtest_compensations (account, amount) VALUES ($1, $2)",
                    transfer.source,
                    transfer.amount,
                )

        return {"refund": refund}

    async def _move(self, account: str, amount: int) -> JsonValue:
        balance = await self._postgres.fetchval(_MOVE, account, amount)
        if balance is None:
            raise RuntimeHostError(f"no account {account}", retriable=False)
        assert isinstance(balance, int)
        return balance
