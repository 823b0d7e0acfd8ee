"""A multi-step EFFECT run by its contract: ``error_handling.steps`` executed, undone on failure.

The contract names the steps and their compensations; the handler registers the code by
those names, per message (``ProtocolEffectStepsHandler``)::

    class HandlerTransfer:
        def step_actions(self, context):        # name -> async (earlier results) -> result
            return {"debit": ..., "credit": ...}
        def step_compensations(self, context):  # name -> async (the step's result) -> None
            return {"refund": ...}

Each step and compensation runs under the node's executor (timeout, retry, breaker). When a
step fails, the compensations of the completed steps run in reverse order. The outcome is
reported as the contract declares: when it declares ``ModelCompensationResult`` as a result
(``event_bus.publish_topic_metadata.<topic>.schema_ref``), the outcome is published there,
success or failure; otherwise a success publishes nothing and a failure is raised to the failure
policy: the failed step's own error (retried or dead-lettered as its kind says; everything was
undone first), or, when a compensation failed too, a non-retriable error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.resilience.compensation.compensating_effect import (
    CompensatingEffect,
    StepAction,
    StepCompensation,
)
from omnibase_infra.resilience.compensation.model_compensation_result import ModelCompensationResult
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy

__all__ = ["EffectStepsRunner", "ProtocolEffectStepsHandler"]


@runtime_checkable
class ProtocolEffectStepsHandler(Protocol):
    """The handler of an EFFECT whose contract declares ``error_handling.steps``."""

    def step_actions(self, context: DispatchContext) -> Mapping[str, StepAction]:
        """The action of every declared step, by step name, for this message."""
        ...

    def step_compensations(self, context: DispatchContext) -> Mapping[str, StepCompensation]:
        """The code of every declared compensation, by compensation name, for this message."""
        ...


class EffectStepsRunner:
    """Runs one message's steps with compensation and turns the outcome into the node's output."""

    def __init__(
        self,
        name: str,
        handler: ProtocolEffectStepsHandler,
        executor: EffectExecutor,
        policy: ModelEffectPolicy,
        *,
        publishes_outcome: bool,
    ) -> None:
        self._name = name
        self._handler = handler
        self._executor = executor
        self._policy = policy
        self._publishes_outcome = publishes_outcome

    async def run(self, context: DispatchContext) -> ModelNodeOutput | None:
        """All steps; on a failure the completed ones undone, reported as declared."""
        effect = CompensatingEffect.from_policy(
            self._name,
            self._policy,
            actions=self._handler.step_actions(context),
            compensations=self._handler.step_compensations(context),
            executor=self._executor,
        )
        outcome = await effect.run()
        if self._publishes_outcome:
            return ModelNodeOutput(result=outcome)
        if outcome.succeeded:
            return None
        raise _failure(outcome, effect.error)


def _failure(outcome: ModelCompensationResult, error: BaseException | None) -> Exception:
    """What a failed run raises: a failed compensation needs a person (never retried)."""
    if outcome.compensation_failures:
        undone = ", ".join(f.compensation for f in outcome.compensation_failures)
        return RuntimeHostError(
            f"effect {outcome.effect}: step {outcome.failed_step} failed ({outcome.error}) and "
            f"compensation {undone} failed too; completed steps are left as they are",
            retriable=False,
        )
    if isinstance(error, Exception):
        return error
    return RuntimeHostError(f"effect {outcome.effect}: step {outcome.failed_step} failed")
