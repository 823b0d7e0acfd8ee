"""``CompensatingEffect``: a multi-step effect that undoes its completed steps when one fails.

The steps and their compensations are declared in the contract (``error_handling.steps``) by
name; the code that performs them is registered by name when the effect is built, never
imported because a contract or a message asked for it::

    effect = CompensatingEffect.from_policy(
        "registration.write", policy,
        actions={"write_db": write_db, "register_consul": register},
        compensations={"delete_db": delete_db},
        executor=executor,
    )
    outcome = await effect.run()

Each action receives the results of the steps before it; each compensation receives the result
of the step it undoes. When a step fails (or the run is cancelled), the compensations of the
completed steps run in reverse order; a compensation that fails is reported and the others
still run. With an executor, every action and compensation gets its timeout, retries and
circuit breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

from prometheus_client import Counter
from pydantic import JsonValue

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.compensation.model_compensation_failure import (
    ModelCompensationFailure,
)
from omnibase_infra.resilience.compensation.model_compensation_result import ModelCompensationResult
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.effect.model_effect_step import ModelEffectStep
from omnibase_infra.sanitize import sanitize_text

__all__ = ["CompensatingEffect", "StepAction", "StepCompensation"]

_log = get_logger(__name__)

StepAction = Callable[[Mapping[str, JsonValue]], Awaitable[JsonValue]]
StepCompensation = Callable[[JsonValue], Awaitable[None]]

_RUNS = Counter(
    "onex_effect_compensated_runs",
    "Multi-step effects that failed and ran compensations, by effect and outcome.",
    ["effect", "outcome"],
    registry=REGISTRY,
)


def _describe(error: BaseException) -> str:
    return sanitize_text(f"{type(error).__name__}: {error}")[:500]


class CompensatingEffect:
    """Runs declared steps in order and compensates completed ones in reverse on failure."""

    def __init__(
        self,
        name: str,
        steps: Sequence[ModelEffectStep],
        *,
        actions: Mapping[str, StepAction],
        compensations: Mapping[str, StepCompensation] | None = None,
        executor: EffectExecutor | None = None,
    ) -> None:
        if not steps:
            raise ProtocolConfigurationError(
                f"effect {name} declares no steps", field="error_handling.steps"
            )
        compensations = compensations or {}
        for index, step in enumerate(steps):
            if step.name not in actions:
                raise ProtocolConfigurationError(
                    f"step {step.name!r} of effect {name} has no registered action",
                    field=f"error_handling.steps.{index}.name",
                )
            if step.compensation is not None and step.compensation not in compensations:
                raise ProtocolConfigurationError(
                    f"compensation {step.compensation!r} of effect {name} is not registered",
                    field=f"error_handling.steps.{index}.compensation",
                )
        self.name = name
        self._steps = tuple(steps)
        self._actions = dict(actions)
        self._compensations = dict(compensations)
        self._executor = executor
        self.error: BaseException | None = None  # what the failed step raised, after run()

    @classmethod
    def from_policy(
        cls,
        name: str,
        policy: ModelEffectPolicy,
        *,
        actions: Mapping[str, StepAction],
        compensations: Mapping[str, StepCompensation] | None = None,
        executor: EffectExecutor | None = None,
    ) -> CompensatingEffect:
        """The multi-step effect the contract's ``error_handling.steps`` declares."""
        return cls(
            name, policy.steps, actions=actions, compensations=compensations, executor=executor
        )

    async def run(self) -> ModelCompensationResult:
        """Run every step; on failure compensate and report (cancellation is re-raised)."""
        results: dict[str, JsonValue] = {}
        completed: list[ModelEffectStep] = []
        for step in self._steps:
            try:
                results[step.name] = await self._invoke_action(step, dict(results))
            except BaseException as exc:
                self.error = exc
                outcome = await self._compensate(completed, results, step, exc)
                if not isinstance(exc, Exception):
                    raise  # cancelled or exiting: compensated, but the caller must still stop
                return outcome
            completed.append(step)
        return ModelCompensationResult(
            effect=self.name,
            succeeded=True,
            completed_steps=tuple(s.name for s in completed),
            results=results,
        )

    async def _invoke_action(
        self, step: ModelEffectStep, earlier: dict[str, JsonValue]
    ) -> JsonValue:
        action = self._actions[step.name]
        if self._executor is not None:
            return await self._executor.call(action, earlier)
        return await action(earlier)

    async def _compensate(
        self,
        completed: list[ModelEffectStep],
        results: dict[str, JsonValue],
        failed: ModelEffectStep,
        error: BaseException,
    ) -> ModelCompensationResult:
        _log.warning(
            "effect step failed, compensating",
            effect=self.name,
            step=failed.name,
            completed_steps=[s.name for s in completed],
            error=_describe(error),
        )
        compensated: list[str] = []
        failures: list[ModelCompensationFailure] = []
        cancelled = False
        for step in reversed(completed):
            if step.compensation is None:
                continue
            compensation = self._compensations[step.compensation]
            undo = asyncio.ensure_future(
                self._invoke_compensation(compensation, results[step.name])
            )
            # A cancellation arriving now must not cut an undo in half nor skip the others:
            # wait for each compensation to finish, and re-raise the cancellation afterwards.
            while not undo.done():
                try:
                    await asyncio.shield(undo)
                except asyncio.CancelledError:
                    cancelled = True
                except Exception:  # noqa: S112 - read from the future below
                    continue
            exc = undo.exception() if not undo.cancelled() else asyncio.CancelledError()
            if exc is not None:
                failures.append(
                    ModelCompensationFailure(
                        step=step.name, compensation=step.compensation, error=_describe(exc)
                    )
                )
                _log.error(
                    "compensation failed",
                    effect=self.name,
                    step=step.name,
                    compensation=step.compensation,
                    error=_describe(exc),
                )
                continue
            compensated.append(step.name)
        _RUNS.labels(effect=self.name, outcome="partial" if failures else "compensated").inc()
        if cancelled:
            raise asyncio.CancelledError
        return ModelCompensationResult(
            effect=self.name,
            succeeded=False,
            completed_steps=tuple(s.name for s in completed),
            results=results,
            failed_step=failed.name,
            error=_describe(error),
            compensated_steps=tuple(compensated),
            compensation_failures=tuple(failures),
        )

    async def _invoke_compensation(self, compensation: StepCompensation, result: JsonValue) -> None:
        if self._executor is not None:
            await self._executor.call(compensation, result)
        else:
            await compensation(result)
