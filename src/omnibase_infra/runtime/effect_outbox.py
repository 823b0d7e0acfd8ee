"""The transactional outbox, switched on per EFFECT contract, and its relay run by the runtime.

With ``error_handling.outbox: true`` the runtime opens one PostgreSQL transaction per attempt
of the effect's handler; the handler writes through it (``outbox_transaction()``), and the
result the handler returns is written to ``onex_outbox`` in the same transaction instead of
being published. Both commit together or not at all: a handler that fails after its write
leaves neither the write nor the event. ``OutboxRelayComponent`` (started with PostgreSQL when
a loaded contract uses the outbox) publishes committed rows to the bus (``OutboxRelay``:
``FOR UPDATE SKIP LOCKED`` batches, so the relays of several runtimes on one database share the
rows, and a runtime killed with ``kill -9`` leaves its rows to the others)::

    from omnibase_infra.runtime.effect_outbox import outbox_transaction

    async def handle(self, context):
        tx = outbox_transaction()
        await tx.execute("UPDATE orders SET state = 'paid' WHERE id = $1", order_id)
        return ModelNodeOutput(result=ModelOrderPaid(order_id=order_id))
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from contextvars import ContextVar

from pydantic import BaseModel

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.codec import new_envelope
from omnibase_infra.handlers.postgres.connection import PostgresConnection
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience.outbox.relay import OutboxRelay
from omnibase_infra.resilience.outbox.writer import enqueue_envelope
from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost

__all__ = ["OutboxRelayComponent", "OutboxedHandler", "outbox_transaction"]

_TRANSACTION: ContextVar[PostgresConnection | None] = ContextVar(
    "onex_outbox_transaction", default=None
)


def outbox_transaction() -> PostgresConnection:
    """The transaction of the message an outbox effect is handling (its writes and its result
    commit together)."""
    transaction = _TRANSACTION.get()
    if transaction is None:
        raise ProtocolConfigurationError(
            "outbox_transaction() is only available to the handler of an EFFECT whose "
            "contract sets error_handling.outbox: true",
            field="error_handling.outbox",
        )
    return transaction


class OutboxedHandler:
    """Runs ``handler`` in a transaction and writes its result to the outbox in the same one."""

    def __init__(
        self,
        handler: ProtocolMessageHandler,
        postgres: HandlerPostgres,
        node_name: str,
        results: Sequence[tuple[type[BaseModel], str]],
    ) -> None:
        self._handler = handler
        self._postgres = postgres
        self._node_name = node_name
        self._results = tuple(results)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """The handler's output, its result already committed to the outbox (not returned)."""
        async with self._postgres.transaction() as transaction:
            token = _TRANSACTION.set(transaction)
            try:
                output = await self._handler.handle(context)
            finally:
                _TRANSACTION.reset(token)
            if output is None or output.result is None:
                return output
            envelope = new_envelope(
                output.result,
                correlation_id=context.correlation_id,
                parent_envelope_id=context.envelope.envelope_id,
                source_tool=self._node_name,
                producer=self._node_name,
            )
            topic = self._topic(output.result)
            await enqueue_envelope(transaction, envelope, topic, context.message.key)
        return output.model_copy(update={"result": None})

    def _topic(self, result: BaseModel) -> str:
        for model, topic in self._results:
            if type(result) is model:
                return topic
        raise ProtocolConfigurationError(
            f"{self._node_name} returned a {type(result).__name__}, which its contract declares "
            "for no topic in event_bus.publish_topic_metadata",
            field="event_bus.publish_topic_metadata",
        )


class OutboxRelayComponent:
    """Relays the outbox to the bus while the runtime runs, when a loaded contract uses it."""

    def __init__(self, postgres: HandlerPostgres) -> None:
        self._postgres = postgres
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """``outbox relay``."""
        return "outbox relay"

    async def start(self, host: ProtocolComponentHost) -> None:
        """Start relaying (nothing to do when no loaded contract uses the outbox)."""
        loaded = host.container.get_service_optional(ModelLoadedContracts)
        contracts = loaded.contracts if isinstance(loaded, ModelLoadedContracts) else ()
        if not any(c.effect_policy is not None and c.effect_policy.outbox for c in contracts):
            return
        relay = OutboxRelay(self._postgres, host.bus)
        self._stop.clear()
        self._task = asyncio.create_task(relay.run(self._stop), name="outbox-relay")

    async def stop(self) -> None:
        """Finish the batch under way and stop (unsent rows wait for the next relay)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            async with asyncio.timeout(30):
                await task
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
