"""Core's FSM subcontract, compiled to a lookup table.

Core's executor (``omnibase_core.utils.util_fsm_executor``) walks the contract on every step,
builds intent models and costs ~150 us per transition. A reducer runs on the hot path, so the
same contract is compiled once into ``(state, trigger) -> candidate edges`` with conditions
pre-parsed into closures; a step is a dict lookup and a few comparisons.

Semantics follow core's executor exactly, and ``tests/unit/test_compiled_fsm.py`` checks parity
against it: exact ``(from_state, trigger)`` edges win over ``from_state: "*"`` wildcards;
candidates are tried by priority (descending, declaration order breaks ties); the first whose
required conditions all hold is taken; when none holds the step fails closed
(``guard_rejection``) and the state does not change; the actions of a taken edge are the
source state's exit actions, the transition's actions, then the target's entry actions.
Conditions are core's ``"field operator value"`` expressions with its string-coercing equality.
Core 0.47.57 parses but never evaluates some operators (they are always false); a contract
using them, or comparing numerically with something that is not a number, is refused at compile
time instead of silently never firing, as is a state declared twice. Where core raises
"no transition", ``step`` returns a failed step (``no_transition``) so callers can decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

from omnibase_infra._core import (
    ModelFSMStateDefinition,
    ModelFSMStateTransition,
    ModelFSMSubcontract,
    parse_expression,
)
from omnibase_infra.errors import ProtocolConfigurationError

if TYPE_CHECKING:
    from typing import SupportsFloat

__all__ = ["CompiledFSM", "FsmStep"]

# Operators core 0.47.57 accepts in a contract but evaluates as always-False.
_UNEVALUATED_BY_CORE = frozenset(
    {
        "greater_than",
        "less_than",
        "greater_than_or_equal",
        "less_than_or_equal",
        "min_length",
        "max_length",
        "exists",
        "not_exists",
    }
)

Context = Mapping[str, object]
_Condition = Callable[[Context], bool]
FailureKind = Literal["guard_rejection", "no_transition"]


class FsmStep(NamedTuple):
    """The outcome of one step: the new state and the actions to turn into intents."""

    success: bool
    old_state: str
    new_state: str
    transition_name: str | None
    actions: tuple[str, ...]
    failure: FailureKind | None = None
    failed_conditions: tuple[str, ...] = ()


class _Candidate(NamedTuple):
    rank: int  # -priority, so ascending sort is priority descending
    order: int
    transition: ModelFSMStateTransition
    conditions: tuple[tuple[str, _Condition], ...]


class _Edge(NamedTuple):
    name: str
    to_state: str
    conditions: tuple[tuple[str, _Condition], ...]
    actions: tuple[str, ...]


def _edge(
    source: ModelFSMStateDefinition,
    transition: ModelFSMStateTransition,
    states: Mapping[str, ModelFSMStateDefinition],
    conditions: tuple[tuple[str, _Condition], ...],
) -> _Edge:
    """An edge with its full action list: source exit, transition, target entry."""
    actions = (
        *source.exit_actions,
        *(action.action_name for action in transition.actions),
        *states[transition.to_state].entry_actions,
    )
    return _Edge(transition.transition_name, transition.to_state, conditions, actions)


def _field_getter(path: str) -> Callable[[Context], object]:
    if "." not in path:
        return lambda context: context.get(path)
    segments = path.split(".")

    def nested(context: Context) -> object:
        current: object = context
        for segment in segments:
            # Core descends into dicts only: any other mapping reads as missing there too.
            if not isinstance(current, dict):
                return None
            current = current.get(segment)
            if current is None:
                return None
        return current

    return nested


def _number(value: object) -> float:
    """Core's numeric coercion, ``float(value or 0)``: anything ``float()`` takes (decimals,
    numeric strings and bytes included); non-numbers raise (the caller says False)."""
    return float(cast("SupportsFloat", value or 0))


def _compare(
    get: Callable[[Context], object], op: str, expected: str, expression: str, where: str
) -> _Condition:
    try:
        threshold = float(expected or "0")
    except ValueError:
        # Core compares with float(expected) on every step and says False when it is no number.
        raise ProtocolConfigurationError(
            f"condition {expression!r} compares with {expected!r}, which is not a number "
            "(omnibase-core evaluates it as always false)",
            field=where,
        ) from None
    compare: Callable[[float, float], bool] = {
        ">": float.__gt__,
        "<": float.__lt__,
        ">=": float.__ge__,
        "<=": float.__le__,
    }[op]

    def condition(context: Context) -> bool:
        try:
            return compare(_number(get(context)), threshold)
        except (TypeError, ValueError):
            return False

    return condition


def _compile_condition(expression: str, where: str) -> _Condition:
    try:
        field, op, expected = parse_expression(expression)
    except Exception as exc:  # core raises ModelOnexError with the reason
        raise ProtocolConfigurationError(
            f"invalid condition {expression!r}: {exc}", field=where
        ) from None
    if op in _UNEVALUATED_BY_CORE:
        raise ProtocolConfigurationError(
            f"condition operator {op!r} is never evaluated by omnibase-core 0.47.57 (always "
            "false); use ==, !=, >, <, >=, <=, in, not_in, contains or matches",
            field=where,
        )
    get = _field_getter(field)
    if op in ("==", "equals"):
        return lambda context: str(get(context)) == expected
    if op in ("!=", "not_equals"):
        return lambda context: str(get(context)) != expected
    if op in (">", "<", ">=", "<="):
        return _compare(get, op, expected, expression, where)
    if op in ("in", "not_in"):
        options = frozenset(v.strip() for v in expected.split(","))
        if op == "in":
            return lambda context: str(get(context)) in options
        return lambda context: str(get(context)) not in options
    if op == "contains":
        return lambda context: (value := get(context)) is not None and expected in str(value)
    if op == "matches":
        try:
            pattern = re.compile(expected)
        except re.error as exc:
            raise ProtocolConfigurationError(
                f"invalid pattern in {expression!r}: {exc}", field=where
            ) from None
        return lambda context: (
            (value := get(context)) is not None and bool(pattern.match(str(value)))
        )
    raise ProtocolConfigurationError(f"unsupported operator {op!r}", field=where)


class CompiledFSM:
    """A validated, compiled FSM subcontract; ``step`` is the reducer's transition function."""

    def __init__(self, fsm: ModelFSMSubcontract) -> None:
        self.name = fsm.state_machine_name
        self.initial_state = fsm.initial_state
        states = {state.state_name: state for state in fsm.states}
        self.states = frozenset(states)
        self.terminal_states = frozenset(
            s.state_name for s in fsm.states if s.is_terminal
        ) | frozenset(fsm.terminal_states)
        self._validate(fsm, states)
        # Candidates per (from_state, trigger), and wildcard candidates per trigger, each kept
        # as (priority, declaration order, transition, compiled conditions).
        exact: dict[tuple[str, str], list[_Candidate]] = {}
        wildcard: dict[str, list[_Candidate]] = {}
        for order, transition in enumerate(fsm.transitions):
            where = f"state_machine.transitions.{order}"
            conditions = tuple(
                (c.condition_name, _compile_condition(c.expression, f"{where}.conditions"))
                for c in transition.conditions
                if c.required
            )
            candidate = _Candidate(-transition.priority, order, transition, conditions)
            if transition.from_state == "*":
                wildcard.setdefault(transition.trigger, []).append(candidate)
            else:
                key = (transition.from_state, transition.trigger)
                exact.setdefault(key, []).append(candidate)
        self._table: dict[tuple[str, str], tuple[_Edge, ...]] = {}
        for state_name in states:
            for trigger in {t.trigger for t in fsm.transitions}:
                candidates = exact.get((state_name, trigger)) or wildcard.get(trigger)
                if candidates:
                    ordered = sorted(candidates, key=lambda c: (c.rank, c.order))
                    self._table[(state_name, trigger)] = tuple(
                        _edge(states[state_name], c.transition, states, c.conditions)
                        for c in ordered
                    )

    @staticmethod
    def _validate(fsm: ModelFSMSubcontract, states: Mapping[str, ModelFSMStateDefinition]) -> None:
        problems: list[str] = []
        declared = [state.state_name for state in fsm.states]
        for name in sorted({name for name in declared if declared.count(name) > 1}):
            # Core would use the first definition and ignore the others' actions: ambiguous.
            problems.append(f"state {name!r} is declared more than once")
        if fsm.initial_state not in states:
            problems.append(f"initial state {fsm.initial_state!r} is not declared")
        for name in (*fsm.terminal_states, *fsm.error_states):
            if name not in states:
                problems.append(f"state {name!r} is listed but not declared")
        for transition in fsm.transitions:
            for end in (transition.from_state, transition.to_state):
                if end != "*" and end not in states:
                    problems.append(
                        f"transition {transition.transition_name!r} references undeclared "
                        f"state {end!r}"
                    )
        if problems:
            raise ProtocolConfigurationError("; ".join(problems), field="state_machine")

    def step(self, state: str, trigger: str, context: Context) -> FsmStep:
        """Take the first eligible edge for ``(state, trigger)``; never raises."""
        edges = self._table.get((state, trigger))
        if edges is None:
            return FsmStep(False, state, state, None, (), "no_transition")
        for edge in edges:
            for _, condition in edge.conditions:
                if not condition(context):
                    break
            else:
                return FsmStep(True, state, edge.to_state, edge.name, edge.actions)
        first = edges[0]
        failed = tuple(name for name, condition in first.conditions if not condition(context))
        return FsmStep(False, state, state, first.name, (), "guard_rejection", failed)

    def triggers_from(self, state: str) -> frozenset[str]:
        """The triggers that have at least one edge out of ``state``."""
        return frozenset(trigger for (s, trigger) in self._table if s == state)
