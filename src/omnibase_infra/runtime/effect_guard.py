"""An EFFECT route's handler under its contract's ``error_handling``.

Every call of an effect's message handler goes through one ``EffectExecutor`` per node (its
timeout, retry and circuit breaker), and, with idempotency on (the default), through the
idempotency store: a redelivered message whose side effect already happened is not executed
again. Handlers implement the side effect only; none of this is theirs to re-implement.
"""

from __future__ import annotations

from pydantic import BaseModel

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.idempotency.keys import idempotency_key

__all__ = ["GuardedEffectHandler"]


class GuardedEffectHandler:
    """Wraps a handler: ``handle`` runs it under the executor (and idempotency when on)."""

    def __init__(
        self, handler: ProtocolMessageHandler, executor: EffectExecutor, policy: ModelEffectPolicy
    ) -> None:
        self._handler = handler
        self._executor = executor
        self._policy = policy
        self._idempotent = policy.idempotency.enabled

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Run the wrapped handler once per message (idempotency) under timeout/retry/breaker."""
        if not self._idempotent:
            return await self._executor.call(self._handler.handle, context)
        payload = context.payload
        key = idempotency_key(
            self._policy.idempotency,
            context.envelope.envelope_id,
            payload if isinstance(payload, BaseModel | dict) else None,
        )
        outputs: list[ModelNodeOutput | None] = []

        async def run() -> BaseModel | None:
            # The executor records what this returns (as JSON) against the key; the output
            # itself goes back to the engine, which publishes an effect's declared result.
            output = await self._handler.handle(context)
            outputs.append(output)
            return None if output is None else output.result

        result = await self._executor.execute(run, idempotency_key=key)
        # A replayed message's side effect happened before and its result was published then;
        # a degraded call has no result.
        return None if result.replayed or result.degraded or not outputs else outputs[-1]
