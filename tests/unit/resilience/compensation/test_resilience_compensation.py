"""Compensation of multi-step effects: reverse-order undo and a complete outcome report."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from uuid import uuid4

import pytest
from pydantic import JsonValue

from omnibase_infra.errors import InfraConnectionError, ProtocolConfigurationError
from omnibase_infra.resilience import (
    CompensatingEffect,
    EffectExecutor,
    ModelEffectPolicy,
    ModelEffectStep,
    RetryPolicy,
)
from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing import ManualClock


class _Saga:
    """Actions and compensations that record what ran; ``fail_at`` names a failing step."""

    def __init__(self, fail_at: str | None = None, broken_undo: str | None = None) -> None:
        self.log: list[str] = []
        self.fail_at = fail_at
        self.broken_undo = broken_undo

    def action(self, name: str):  # type: ignore[no-untyped-def]
        async def run(earlier: Mapping[str, JsonValue]) -> JsonValue:
            self.log.append(f"do:{name}:{sorted(earlier)}")
            if name == self.fail_at:
                raise InfraConnectionError(f"{name} failed")
            return f"{name}-id"

        return run

    def undo(self, name: str):  # type: ignore[no-untyped-def]
        async def run(result: JsonValue) -> None:
            self.log.append(f"undo:{name}:{result}")
            if name == self.broken_undo:
                raise InfraConnectionError(f"{name} could not be undone")

        return run


_STEPS = (
    ModelEffectStep(name="a", compensation="undo_a"),
    ModelEffectStep(name="b", compensation="undo_b"),
    ModelEffectStep(name="c"),
    ModelEffectStep(name="d", compensation="undo_d"),
)


def _effect(saga: _Saga, executor: EffectExecutor | None = None) -> CompensatingEffect:
    return CompensatingEffect(
        f"saga-{uuid4().hex[:6]}",
        _STEPS,
        actions={s.name: saga.action(s.name) for s in _STEPS},
        compensations={f"undo_{n}": saga.undo(n) for n in ("a", "b", "d")},
        executor=executor,
    )


async def test_all_steps_succeed_in_order_with_earlier_results() -> None:
    """Without failure every step runs once, in order, seeing the results before it."""
    saga = _Saga()
    outcome = await _effect(saga).run()
    assert outcome.succeeded
    assert outcome.completed_steps == ("a", "b", "c", "d")
    assert outcome.results == {"a": "a-id", "b": "b-id", "c": "c-id", "d": "d-id"}
    assert saga.log == ["do:a:[]", "do:b:['a']", "do:c:['a', 'b']", "do:d:['a', 'b', 'c']"]
    assert outcome.compensated_steps == ()


async def test_failed_step_compensates_completed_steps_in_reverse_order() -> None:
    """A failure at d undoes b then a (c declares nothing to undo) with their own results."""
    saga = _Saga(fail_at="d")
    outcome = await _effect(saga).run()
    assert not outcome.succeeded
    assert outcome.failed_step == "d"
    assert outcome.completed_steps == ("a", "b", "c")
    assert outcome.compensated_steps == ("b", "a")
    assert saga.log[-2:] == ["undo:b:b-id", "undo:a:a-id"]
    assert outcome.fully_compensated
    assert outcome.error is not None
    assert "d failed" in outcome.error


async def test_failure_of_the_first_step_compensates_nothing() -> None:
    """If the first step fails there is nothing to undo."""
    saga = _Saga(fail_at="a")
    outcome = await _effect(saga).run()
    assert outcome.failed_step == "a"
    assert outcome.completed_steps == ()
    assert outcome.compensated_steps == ()
    assert saga.log == ["do:a:[]"]


async def test_a_failing_compensation_is_reported_and_the_others_still_run() -> None:
    """When undoing b fails, a is still undone and the failure is in the report."""
    saga = _Saga(fail_at="d", broken_undo="b")
    outcome = await _effect(saga).run()
    assert outcome.compensated_steps == ("a",)
    assert [(f.step, f.compensation) for f in outcome.compensation_failures] == [("b", "undo_b")]
    assert "could not be undone" in outcome.compensation_failures[0].error
    assert not outcome.fully_compensated
    assert saga.log[-2:] == ["undo:b:b-id", "undo:a:a-id"]


async def test_steps_and_compensations_go_through_the_executor() -> None:
    """With an executor, a transient failure of a step is retried instead of compensated."""
    clock = ManualClock()
    flaky_calls = 0

    async def flaky(earlier: Mapping[str, JsonValue]) -> JsonValue:
        nonlocal flaky_calls
        flaky_calls += 1
        if flaky_calls == 1:
            raise InfraConnectionError("blip")
        return "ok"

    executor = EffectExecutor(
        "saga.exec",
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.5, jitter_factor=0.0),
        clock=clock,
        sleep=clock.sleep,
    )
    effect = CompensatingEffect(
        "saga.exec", (ModelEffectStep(name="only"),), actions={"only": flaky}, executor=executor
    )
    outcome = await effect.run()
    assert outcome.succeeded
    assert flaky_calls == 2
    assert clock.sleeps == [0.5]


async def test_cancellation_mid_run_compensates_then_propagates() -> None:
    """Cancelling the run during a step undoes the completed steps, then re-raises."""
    saga = _Saga()
    started = asyncio.Event()

    async def hang(earlier: Mapping[str, JsonValue]) -> JsonValue:
        started.set()
        await asyncio.sleep(3600)
        return None

    steps = (ModelEffectStep(name="a", compensation="undo_a"), ModelEffectStep(name="slow"))
    effect = CompensatingEffect(
        "saga.cancel",
        steps,
        actions={"a": saga.action("a"), "slow": hang},
        compensations={"undo_a": saga.undo("a")},
    )
    task = asyncio.create_task(effect.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saga.log == ["do:a:[]", "undo:a:a-id"]


async def test_error_text_in_the_report_is_sanitised() -> None:
    """A secret in a step's error never appears in the compensation report."""
    secret = f"tok-{uuid4().hex}"
    register_secret(secret)

    async def leaky(earlier: Mapping[str, JsonValue]) -> JsonValue:
        raise InfraConnectionError(f"rejected {secret}")

    effect = CompensatingEffect("saga.secret", (ModelEffectStep(name="x"),), actions={"x": leaky})
    outcome = await effect.run()
    assert secret not in outcome.model_dump_json()


def test_declared_but_unregistered_names_are_refused() -> None:
    """A step or compensation named in the contract but not registered fails at construction."""
    saga = _Saga()
    with pytest.raises(ProtocolConfigurationError, match="no registered action"):
        CompensatingEffect(
            "s",
            _STEPS,
            actions={"a": saga.action("a")},
            compensations={f"undo_{n}": saga.undo(n) for n in ("a", "b", "d")},
        )
    with pytest.raises(ProtocolConfigurationError, match="not registered"):
        CompensatingEffect("s", _STEPS, actions={s.name: saga.action(s.name) for s in _STEPS})


def test_steps_come_from_the_contract_policy() -> None:
    """from_policy takes the step list declared in error_handling.steps."""
    policy = ModelEffectPolicy.from_contract_section(
        {"steps": [{"name": "a", "compensation": "undo_a"}], "idempotency": {"enabled": False}}
    )
    saga = _Saga()
    effect = CompensatingEffect.from_policy(
        "s", policy, actions={"a": saga.action("a")}, compensations={"undo_a": saga.undo("a")}
    )
    assert effect.name == "s"
    with pytest.raises(ProtocolConfigurationError, match="no steps"):
        CompensatingEffect.from_policy("s", ModelEffectPolicy(), actions={})
