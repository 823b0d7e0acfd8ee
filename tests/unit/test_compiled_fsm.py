"""CompiledFSM against core's own FSM executor: same step, for every state, trigger and context.

Core's ``execute_transition`` is the oracle. For the registration reducer's contract and for
small hand-written machines (wildcards, priorities, default edges, guards with every operator
core evaluates, optional conditions, entry and exit actions) every ``(state, trigger)`` pair is
stepped under a range of contexts by both, and the outcomes must agree: success, new state,
transition taken, failure kind, failed conditions, and the action names in core's order (exit,
transition, entry). Contracts core would accept but never evaluate as written are refused when
compiled, with a typed error.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import pytest
from omnibase_core.utils.util_fsm_executor import execute_transition

import omnibase_infra.nodes.node_registration_reducer as reducer_package
from omnibase_infra._core import ModelContractReducer, ModelFSMSubcontract, ModelOnexError
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.fsm.compiled_fsm import CompiledFSM
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST

_V = {"major": 1, "minor": 0, "patch": 0}
_ACTION_INTENTS = frozenset({"fsm_state_action", "fsm_transition_action"})


class Outcome(NamedTuple):
    """What a step decided, in terms both executors can express."""

    success: bool
    new_state: str
    transition: str | None
    failure: str | None
    failed_conditions: tuple[str, ...]
    actions: tuple[str, ...]


async def core_step(
    fsm: ModelFSMSubcontract, state: str, trigger: str, context: Mapping[str, object]
) -> Outcome:
    """Core's executor, its "no transition" and "invalid state" errors read as no_transition."""
    try:
        result = await execute_transition(fsm, state, trigger, dict(context))
    except ModelOnexError:
        return Outcome(False, state, None, "no_transition", (), ())
    actions = tuple(
        str(intent.payload.action_name)  # type: ignore[union-attr]
        for intent in result.intents
        if intent.intent_type in _ACTION_INTENTS
    )
    return Outcome(
        result.success,
        result.new_state,
        result.transition_name,
        result.failure_type,
        tuple(result.failed_conditions or ()),
        actions,
    )


def compiled_step(
    compiled: CompiledFSM, state: str, trigger: str, context: Mapping[str, object]
) -> Outcome:
    """CompiledFSM's step in the same terms (the failed edge's name is kept, as core does)."""
    step = compiled.step(state, trigger, context)
    return Outcome(
        step.success,
        step.new_state,
        step.transition_name,
        step.failure,
        step.failed_conditions,
        step.actions,
    )


async def assert_parity(
    fsm: ModelFSMSubcontract,
    contexts: Sequence[Mapping[str, object]],
    *,
    extra_states: Sequence[str] = ("no_such_state",),
    extra_triggers: Sequence[str] = ("no_such_trigger",),
) -> int:
    """Step every (state, trigger, context) with both executors; returns how many agreed."""
    compiled = CompiledFSM(fsm)
    states = [s.state_name for s in fsm.states] + list(extra_states)
    triggers = sorted({t.trigger for t in fsm.transitions}) + list(extra_triggers)
    checked = 0
    for state, trigger in itertools.product(states, triggers):
        for context in contexts:
            expected = await core_step(fsm, state, trigger, context)
            got = compiled_step(compiled, state, trigger, context)
            assert got == expected, (state, trigger, dict(context))
            checked += 1
    return checked


# -- building hand-written machines -----------------------------------------------------------


def state(
    name: str,
    kind: str = "operational",
    *,
    entry: Sequence[str] = (),
    exit_: Sequence[str] = (),
) -> dict[str, object]:
    """A state definition in core's format."""
    data: dict[str, object] = {
        "version": _V,
        "state_name": name,
        "state_type": kind,
        "description": f"state {name}",
        "entry_actions": list(entry),
        "exit_actions": list(exit_),
    }
    if kind == "terminal":
        data["is_terminal"] = True
        data["is_recoverable"] = False
    return data


def condition(name: str, expression: str, *, required: bool = True) -> dict[str, object]:
    """A guard condition in core's format."""
    return {
        "version": _V,
        "condition_name": name,
        "condition_type": "expression",
        "expression": expression,
        "required": required,
    }


def transition(
    name: str,
    source: str,
    target: str,
    trigger: str,
    *,
    priority: int = 0,
    conditions: Sequence[dict[str, object]] = (),
    actions: Sequence[str] = (),
) -> dict[str, object]:
    """A transition in core's format."""
    return {
        "version": _V,
        "transition_name": name,
        "from_state": source,
        "to_state": target,
        "trigger": trigger,
        "priority": priority,
        "conditions": list(conditions),
        "actions": [
            {"version": _V, "action_name": action, "action_type": "intent"} for action in actions
        ],
    }


def machine(
    states: Sequence[dict[str, object]],
    transitions: Sequence[dict[str, object]],
    *,
    initial: str | None = None,
) -> ModelFSMSubcontract:
    """A validated FSM subcontract (core's model validation runs)."""
    return ModelFSMSubcontract.model_validate(
        {
            "version": _V,
            "state_machine_name": "hand_written",
            "state_machine_version": _V,
            "description": "a machine written for the parity test",
            "initial_state": initial or str(states[0]["state_name"]),
            "states": list(states),
            "transitions": list(transitions),
        }
    )


def registration_fsm() -> ModelFSMSubcontract:
    """The registration reducer's state machine, loaded as the runtime loads it."""
    path = Path(reducer_package.__file__).parent / "contract.yaml"
    contract = load_contract(path, allowlist=DEFAULT_ALLOWLIST)
    assert isinstance(contract.definition, ModelContractReducer)
    fsm = contract.definition.state_machine
    assert fsm is not None
    return fsm


# Values that exercise core's string-coercing equality and its float() numeric comparison.
_VALUES: tuple[object, ...] = (
    None,
    0,
    1,
    5,
    -2,
    2.5,
    "5",
    "5.0",
    "",
    "abc",
    True,
    False,
    [5],
    {"k": 5},
    Decimal("5"),
    Decimal("0.5"),
)


# -- the registration reducer's contract ------------------------------------------------------


async def test_registration_contract_steps_like_core_for_every_pair() -> None:
    """Every (state, trigger) of the registration FSM, acked or not, steps exactly as core's."""
    contexts: list[Mapping[str, object]] = [
        {},
        {"acked": True},
        {"acked": False},
        {"acked": "True"},
        {"acked": 1},
        {"acked": None},
    ]
    checked = await assert_parity(registration_fsm(), contexts)
    assert checked == (8 + 1) * (9 + 1) * len(contexts)


async def test_registration_contract_early_ack_guard_takes_priority() -> None:
    """pending + registered goes straight to active only when the ack was remembered."""
    compiled = CompiledFSM(registration_fsm())
    acked = compiled.step("pending", "registered", {"acked": True})
    not_acked = compiled.step("pending", "registered", {"acked": False})
    assert (acked.new_state, acked.transition_name) == ("active", "registered_after_early_ack")
    assert acked.actions == ("record_state", "announce_accepted", "announce_active")
    assert (not_acked.new_state, not_acked.transition_name) == ("accepted", "registered")


# -- hand-written machines ----------------------------------------------------------------------


def _lifecycle_machine() -> ModelFSMSubcontract:
    """Wildcards, priorities, a default edge, entry/exit actions, an optional condition."""
    return machine(
        [
            state("idle", "initial", exit_=["leave_idle"]),
            state("running", entry=["enter_running", "start_clock"], exit_=["stop_clock"]),
            state("paused", entry=["enter_paused"]),
            state("failed", "error", entry=["alert"]),
            state("done", "terminal", entry=["archive"]),
        ],
        [
            transition(
                "pause_first",
                "idle",
                "paused",
                "start",
                priority=10,
                conditions=[condition("asked_to_pause", "mode == pause")],
                actions=["note_pause"],
            ),
            transition(
                "run",
                "idle",
                "running",
                "start",
                priority=5,
                conditions=[
                    condition("has_work", "count > 0"),
                    condition("not_blocked", "blocked != True"),
                    condition("optional_owner", "owner == nobody", required=False),
                ],
                actions=["allocate", "log_start"],
            ),
            transition("give_up", "idle", "failed", "start", actions=["log_refusal"]),
            transition("resume", "paused", "running", "start", actions=["log_resume"]),
            transition("finish", "running", "done", "finish", actions=["flush", "notify"]),
            transition("abort_running", "running", "done", "abort", actions=["flush"]),
            transition("abort_anywhere", "*", "failed", "abort", actions=["log_abort"]),
            transition("reset_low", "*", "idle", "reset", priority=1, actions=["reset_all"]),
            transition(
                "reset_high",
                "*",
                "idle",
                "reset",
                priority=3,
                conditions=[condition("soft", "hard == False")],
                actions=["reset_soft"],
            ),
            # Core refuses two edges with the same (from, trigger, priority): no ties exist.
            transition(
                "retry_forced",
                "failed",
                "running",
                "retry",
                priority=2,
                conditions=[condition("forced", "force == yes")],
                actions=["retry_b"],
            ),
            transition(
                "retry_budget",
                "failed",
                "idle",
                "retry",
                priority=1,
                conditions=[condition("budget_left", "retries < 3")],
                actions=["retry_a"],
            ),
        ],
    )


def _lifecycle_contexts() -> list[Mapping[str, object]]:
    fields = {
        "mode": ("pause", "run", None),
        "count": (None, 0, 3, "2", "x", Decimal("1")),
        "blocked": (True, False, "True"),
        "hard": (False, True),
        "retries": (0, 5, "1"),
        "force": ("yes", None),
    }
    names = list(fields)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*fields.values())]


async def test_wildcards_priorities_and_actions_step_like_core() -> None:
    """Exact edges beat wildcards, the highest eligible priority wins, actions run in order."""
    contexts = _lifecycle_contexts()
    checked = await assert_parity(_lifecycle_machine(), contexts)
    assert checked == 6 * 6 * len(contexts)


async def test_entry_and_exit_actions_surround_the_transition_actions() -> None:
    """A taken edge lists the source's exit actions, its own, then the target's entry actions."""
    compiled = CompiledFSM(_lifecycle_machine())
    step = compiled.step("idle", "start", {"count": 2, "blocked": False})
    assert step.actions == (
        "leave_idle",
        "allocate",
        "log_start",
        "enter_running",
        "start_clock",
    )
    core = await core_step(_lifecycle_machine(), "idle", "start", {"count": 2, "blocked": False})
    assert step.actions == core.actions


def _operator_machine() -> ModelFSMSubcontract:
    """One guarded edge per operator core evaluates, plus nested fields and multi-guards."""
    expressions = {
        "eq": "x == 5",
        "equals": "x equals True",
        "ne": "x != 5",
        "not_equals": "x not_equals None",
        "gt": "x > 3",
        "lt": "x < 3",
        "ge": "x >= 5",
        "le": "x <= 0.5",
        "in": "x in 5,abc,True",
        "not_in": "x not_in 5,abc",
        "contains": "x contains 5",
        "matches": "x matches ^[0-9]+$",
        "nested": "user.role == admin",
        "nested_deep": "user.team.name contains ops",
    }
    transitions = [
        transition(f"t_{name}", "start", "hit", name, conditions=[condition(name, expression)])
        for name, expression in expressions.items()
    ]
    transitions.append(
        transition(
            "t_both",
            "start",
            "hit",
            "both",
            conditions=[condition("numeric", "x >= 1"), condition("member", "x in 5,6")],
        )
    )
    transitions.append(
        transition(
            "t_wild_guarded",
            "*",
            "hit",
            "wild",
            conditions=[condition("wild_guard", "x < 100")],
            actions=["w"],
        )
    )
    return machine(
        [state("start", "initial", exit_=["bye"]), state("hit", entry=["hello"])], transitions
    )


def _operator_contexts() -> list[Mapping[str, object]]:
    users: tuple[object, ...] = (
        None,
        "admin",
        {"role": "admin"},
        {"role": "user"},
        {"role": None},
        {"team": {"name": "devops"}},
        {"team": {"name": None}},
        {"team": "ops"},
        MappingProxyType({"role": "admin"}),
    )
    contexts: list[Mapping[str, object]] = [{"x": value} for value in _VALUES]
    contexts += [{"x": 5, "user": user} for user in users]
    contexts.append({})
    return contexts


async def test_every_evaluated_operator_compares_like_core() -> None:
    """==, equals, !=, not_equals, >, <, >=, <=, in, not_in, contains, matches and nested fields
    give core's answer for numbers, numeric strings, booleans, None, containers and decimals."""
    contexts = _operator_contexts()
    checked = await assert_parity(_operator_machine(), contexts)
    assert checked == 3 * 17 * len(contexts)


async def test_guard_rejection_names_every_failed_condition_like_core() -> None:
    """When no candidate's guard holds the state stays, and the failed conditions are core's."""
    fsm = _operator_machine()
    compiled = CompiledFSM(fsm)
    step = compiled.step("start", "both", {"x": 0})
    assert (step.success, step.new_state, step.failure) == (False, "start", "guard_rejection")
    assert step.failed_conditions == ("numeric", "member")
    assert compiled_step(compiled, "start", "both", {"x": 0}) == await core_step(
        fsm, "start", "both", {"x": 0}
    )


async def test_no_edge_is_a_failed_step_where_core_raises() -> None:
    """An unknown trigger or state fails the step (core raises); the state is unchanged."""
    compiled = CompiledFSM(_lifecycle_machine())
    for source, trigger in (("done", "start"), ("idle", "finish"), ("ghost", "start")):
        step = compiled.step(source, trigger, {})
        assert (step.success, step.new_state, step.failure) == (False, source, "no_transition")
        assert step.actions == ()
        assert (await core_step(_lifecycle_machine(), source, trigger, {})).failure == (
            "no_transition"
        )


def test_triggers_from_lists_exact_and_wildcard_edges() -> None:
    """triggers_from(state) names the triggers with an edge out of it, wildcards included."""
    compiled = CompiledFSM(_lifecycle_machine())
    assert compiled.triggers_from("idle") == {"start", "abort", "reset"}
    assert compiled.triggers_from("running") == {"finish", "abort", "reset"}
    assert compiled.triggers_from("ghost") == frozenset()


# -- compile-time refusals --------------------------------------------------------------------


def _single_guard(expression: str) -> ModelFSMSubcontract:
    return machine(
        [state("a", "initial"), state("b")],
        [transition("go", "a", "b", "go", conditions=[condition("guard", expression)])],
    )


@pytest.mark.parametrize(
    "operator",
    [
        "greater_than",
        "less_than",
        "greater_than_or_equal",
        "less_than_or_equal",
        "min_length",
        "max_length",
        "exists",
        "not_exists",
    ],
)
async def test_operators_core_never_evaluates_are_refused(operator: str) -> None:
    """An operator core accepts but always evaluates False is refused when compiled."""
    fsm = _single_guard(f"x {operator} 1")
    # The reason for the refusal: core's executor never takes this edge, whatever the context.
    for value in (0, 1, 2, [1, 2], "x", None):
        assert not (await core_step(fsm, "a", "go", {"x": value})).success
    with pytest.raises(ProtocolConfigurationError) as caught:
        CompiledFSM(fsm)
    assert operator in caught.value.message
    assert "state_machine.transitions.0" in str(caught.value.model.context)


@pytest.mark.parametrize(
    "expression",
    ["x > abc", "x <= ten", "x matches [unclosed", "_secret == 1", "user._hidden == 1"],
)
async def test_guards_core_can_never_pass_are_refused(expression: str) -> None:
    """A guard core evaluates as always False (bad number, bad pattern, private field) is
    refused with a typed error instead of compiling an edge that never fires."""
    fsm = _single_guard(expression)
    for value in (0, 5, "abc", None, {"_hidden": 1}):
        assert not (await core_step(fsm, "a", "go", {"x": value, "user": value})).success
    with pytest.raises(ProtocolConfigurationError):
        CompiledFSM(fsm)


def test_undeclared_states_are_refused() -> None:
    """A transition to or from an undeclared state, or an undeclared initial state, is refused
    even when the subcontract was built without core's validation."""
    valid = _lifecycle_machine()
    first = valid.transitions[0]
    broken = [
        valid.model_copy(
            update={"transitions": [first.model_copy(update={"to_state": "nowhere"})]}
        ),
        valid.model_copy(
            update={"transitions": [first.model_copy(update={"from_state": "nowhere"})]}
        ),
        valid.model_copy(update={"initial_state": "nowhere"}),
        valid.model_copy(update={"terminal_states": ["nowhere"]}),
    ]
    for fsm in broken:
        with pytest.raises(ProtocolConfigurationError) as caught:
            CompiledFSM(fsm)
        assert "nowhere" in caught.value.message


def test_a_state_declared_twice_is_refused() -> None:
    """Two definitions of one state name are ambiguous (which entry actions run?): refused."""
    fsm = machine(
        [state("a", "initial"), state("b", entry=["one"]), state("b", entry=["two"])],
        [transition("go", "a", "b", "go")],
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        CompiledFSM(fsm)
    assert "'b'" in caught.value.message
