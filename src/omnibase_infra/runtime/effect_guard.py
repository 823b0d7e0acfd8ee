"""An EFFECT route's handler under its contract's ``error_handling``.

Every call of an effect's message handler goes through one ``EffectExecutor`` per node (its
timeout, retry, circuit breaker and credential refresh), and, with idempotency on (the
default), through the idempotency store: a redelivered message whose side effect already
happened is not executed again. A multi-step effect runs its declared steps with compensation
(``effect_steps``). A handler fallback (``fallback: {kind: handler, handler: NODE}``) hands the
message to another EFFECT node's guarded handler when this one's dependency failed or its
circuit is open. Handlers implement the side effect only; none of this is theirs to
re-implement.
"""

from __future__ import annotations

from pydantic import BaseModel

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.classify import is_dependency_failure
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.metrics import effect_stats
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.idempotency.keys import idempotency_key
from omnibase_infra.runtime.effect_steps import EffectStepsRunner
from omnibase_infra.sanitize import sanitize_text

__all__ = ["GuardedEffectHandler"]

_log = get_logger(__name__)


class GuardedEffectHandler:
    """Wraps a handler: ``handle`` runs it under the executor (and idempotency when on)."""

    def __init__(
        self,
        handler: ProtocolMessageHandler | None,
        executor: EffectExecutor,
        policy: ModelEffectPolicy,
        *,
        steps: EffectStepsRunner | None = None,
    ) -> None:
        self._handler = handler
        self._executor = executor
        self._policy = policy
        self._steps = steps
        self._idempotent = policy.idempotency.enabled
        self._fallback: ProtocolMessageHandler | None = None
        self._fallback_name: str | None = None
        self._stats = effect_stats(executor.name)

    @property
    def fallback_name(self) -> str | None:
        """The EFFECT node the contract falls back to (None: no handler fallback)."""
        fallback = self._policy.fallback
        return fallback.handler if fallback is not None and fallback.kind == "handler" else None

    def bind_fallback(self, handler: ProtocolMessageHandler) -> None:
        """Use ``handler`` (the fallback node's guarded handler) when the dependency fails."""
        self._fallback = handler
        self._fallback_name = self.fallback_name

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Run the wrapped handler once per message (idempotency) under timeout/retry/breaker;
        on a dependency failure, the fallback node's handler when one is declared."""
        if self._fallback is None:
            return await self._guarded(context)
        try:
            return await self._guarded(context)
        except Exception as error:
            if not is_dependency_failure(error):
                raise
            return await self._degrade(context, error, self._fallback)

    async def _guarded(self, context: DispatchContext) -> ModelNodeOutput | None:
        steps = self._steps
        if not self._idempotent:
            if steps is not None:
                return await steps.run(context)
            assert self._handler is not None  # a handler or steps, by construction
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
            if steps is not None:
                output = await steps.run(context)
            else:
                assert self._handler is not None
                output = await self._handler.handle(context)
            outputs.append(output)
            return None if output is None else output.result

        # Steps run under the executor one by one: the run as a whole is not retried here.
        result = await self._executor.execute(run, idempotency_key=key, guarded=steps is None)
        # A replayed message's side effect happened before and its result was published then;
        # a degraded call has no result.
        return None if result.replayed or result.degraded or not outputs else outputs[-1]

    async def _degrade(
        self, context: DispatchContext, error: Exception, fallback: ProtocolMessageHandler
    ) -> ModelNodeOutput | None:
        """The fallback node's answer instead of the failure (its errors are its own)."""
        self._stats.degraded += 1
        _log.warning(
            "effect degraded to its fallback",
            effect=self._executor.name,
            fallback=self._fallback_name,
            reason=sanitize_text(f"{type(error).__name__}: {error}")[:500],
        )
        return await fallback.handle(context)
