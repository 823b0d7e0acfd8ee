"""GuardedEffectHandler hands an effect's output (its result) back to the engine through the
idempotent executor, and hands nothing back for a replayed message (its side effect and its
result happened the first time)."""

from __future__ import annotations

from uuid import uuid4

from pydantic import BaseModel, ConfigDict

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.idempotency.store_memory import IdempotencyStoreInmemory
from omnibase_infra.runtime.effect_guard import GuardedEffectHandler


class ModelDone(BaseModel):
    """A result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int


class CountingHandler:
    """An effect whose every run is a side effect, counted, and whose result says which."""

    def __init__(self) -> None:
        self.runs = 0

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        self.runs += 1
        return ModelNodeOutput(result=ModelDone(count=self.runs))


def _context(envelope: JsonEnvelope) -> DispatchContext:
    message = BusMessage("onex.cmd.t.do.v1", None, b"{}", {})
    return DispatchContext(envelope, {}, message, "node_t_effect", uuid4())


async def test_the_result_goes_back_once_and_a_replay_runs_and_returns_nothing() -> None:
    """The first delivery runs the effect and returns its output (result included); the same
    envelope again is recognised by the idempotency store: not run, nothing returned."""
    policy = ModelEffectPolicy()
    assert policy.idempotency.enabled
    executor = EffectExecutor.from_policy(
        "node_t_effect",
        policy,
        idempotency_store=IdempotencyStoreInmemory(),
    )
    handler = CountingHandler()
    guarded = GuardedEffectHandler(handler, executor, policy)
    envelope = JsonEnvelope(payload={})
    first = await guarded.handle(_context(envelope))
    assert first is not None
    assert first.result == ModelDone(count=1)
    assert await guarded.handle(_context(envelope)) is None
    assert handler.runs == 1
    other = await guarded.handle(_context(JsonEnvelope(payload={})))
    assert other is not None
    assert other.result == ModelDone(count=2)
