"""The omnibase-core surface this package relies on, pinned so an upgrade's drift fails loudly.

Every name ``omnibase_infra._core`` re-exports must import; the core behaviours the package
builds on are checked; and core's known FSM condition defect (0.47.57) is kept as a regression
test that starts failing the day core fixes it, so we can drop our workaround.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from enum import Enum

import pytest
from pydantic import BaseModel, ValidationError

from omnibase_infra import _core


@pytest.mark.parametrize("name", _core.__all__)
def test_every_core_name_imports(name: str) -> None:
    """Each re-exported core name resolves to a class (or, for lowercase helpers, a function)."""
    value = getattr(_core, name)
    if name[0].islower():
        assert inspect.isfunction(value)
    else:
        assert inspect.isclass(value)
    if name.startswith("Enum"):
        assert issubclass(value, Enum)
    if name.startswith("Model") and name not in {"ModelOnexError", "ModelONEXContainer"}:
        assert issubclass(value, BaseModel)


def test_all_and_the_lookup_table_agree() -> None:
    """__all__ lists exactly the names the lazy lookup knows, sorted, without duplicates."""
    assert sorted(_core.__all__) == _core.__all__
    assert len(set(_core.__all__)) == len(_core.__all__)
    assert set(_core.__all__) == set(_core._WHERE)


def test_unknown_name_is_an_attribute_error() -> None:
    """Asking _core for a name it does not route is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError):
        _core.NotACoreName  # noqa: B018


def test_importing_core_surface_does_not_load_node_classes() -> None:
    """The runtime's start path (_core, bus, dispatch) does not pay for core's node classes."""
    code = (
        "import sys\n"
        "import omnibase_infra._core, omnibase_infra.event_bus.inmemory, omnibase_infra.dispatch\n"
        "print('omnibase_core.nodes' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


# -- core behaviours the package builds on ----------------------------------------------------


def test_node_kinds_cover_the_four_archetypes() -> None:
    """Core's EnumNodeKind still has the four archetypes the runtime routes by."""
    values = {kind.value for kind in _core.EnumNodeKind}
    assert {"effect", "compute", "reducer", "orchestrator"} <= values


def test_event_envelope_forbids_unknown_fields() -> None:
    """Core's envelope refuses unknown fields (the codec relies on it to reject bad input)."""
    with pytest.raises(ValidationError):
        _core.ModelEventEnvelope[dict[str, int]].model_validate({"payload": {}, "surprise": 1})


def test_consumer_group_id_is_deterministic_and_distinguishes_nodes() -> None:
    """Core derives the same group for the same identity, and different ones per node/purpose."""
    derive = _core.compute_consumer_group_id
    purpose = _core.EnumConsumerGroupPurpose.CONSUME
    one = derive(env="local", service="svc", node_name="a", version="v1", purpose=purpose)
    again = derive(env="local", service="svc", node_name="a", version="v1", purpose=purpose)
    other = derive(env="local", service="svc", node_name="b", version="v1", purpose=purpose)
    assert one == again
    assert one != other


# -- core's FSM condition defect (omnibase-core 0.47.57) --------------------------------------

_V = {"major": 1, "minor": 0, "patch": 0}
_CONTEXT = {"items": [1, 2, 3], "count": 5, "name": "abc"}


def _fsm(expression: str) -> object:
    """A two-state FSM whose only transition is guarded by ``expression``."""
    return _core.ModelFSMSubcontract.model_validate(
        {
            "version": _V,
            "state_machine_name": "probe",
            "state_machine_version": _V,
            "description": "one guarded transition",
            "initial_state": "idle",
            "states": [
                {
                    "version": _V,
                    "state_name": "idle",
                    "state_type": "operational",
                    "description": "start",
                },
                {
                    "version": _V,
                    "state_name": "done",
                    "state_type": "terminal",
                    "description": "end",
                    "is_terminal": True,
                    "is_recoverable": False,
                },
            ],
            "transitions": [
                {
                    "version": _V,
                    "transition_name": "go",
                    "from_state": "idle",
                    "to_state": "done",
                    "trigger": "go",
                    "conditions": [
                        {
                            "version": _V,
                            "condition_name": "guard",
                            "condition_type": "expression",
                            "expression": expression,
                            "required": True,
                        }
                    ],
                },
            ],
            "terminal_states": ["done"],
        }
    )


async def _transitions(expression: str) -> bool:
    """Whether the guarded transition fires for ``_CONTEXT``."""
    # Core's FSM executor is what NodeReducer runs; it is exercised here, not used by us.
    from omnibase_core.utils.util_fsm_executor import execute_transition

    result = await execute_transition(_fsm(expression), "idle", "go", dict(_CONTEXT))  # type: ignore[arg-type]
    return bool(result.success and result.new_state == "done")


_CORE_DEFECT = pytest.mark.xfail(
    strict=True,
    reason="omnibase-core 0.47.57: this FSM condition operator always evaluates False "
    "(see /work/shared/notes/omnibase-core.md); an XPASS means core fixed it",
)


@pytest.mark.parametrize(
    "expression",
    [
        "count == 5",
        "count != 4",
        "count > 3",
        "count >= 5",
        "count < 9",
        "count <= 5",
        "name contains b",
        "name in abc,x",
        "name not_in x,y",
        "name matches ^a",
        pytest.param("items min_length 1", marks=_CORE_DEFECT),
        pytest.param("items max_length 9", marks=_CORE_DEFECT),
        pytest.param("name exists true", marks=_CORE_DEFECT),
        pytest.param("missing not_exists true", marks=_CORE_DEFECT),
        pytest.param("count greater_than 3", marks=_CORE_DEFECT),
        pytest.param("count less_than 9", marks=_CORE_DEFECT),
    ],
)
async def test_fsm_condition_that_holds_lets_the_transition_fire(expression: str) -> None:
    """A guard whose condition is true for the context lets the transition happen."""
    assert await _transitions(expression)


@pytest.mark.parametrize(
    "expression",
    ["count == 4", "count > 5", "name contains z", "name in x,y", "items min_length 9"],
)
async def test_fsm_condition_that_fails_blocks_the_transition(expression: str) -> None:
    """A guard whose condition is false keeps the FSM in its state (the probe discriminates)."""
    assert not await _transitions(expression)
