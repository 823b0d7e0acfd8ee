"""The test kit itself: ``eventually``, a face that imports nothing heavy, the pytest plugin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import omnibase_infra.testing
from omnibase_infra.testing import eventually
from omnibase_infra.testing.pytest_plugin import FIXTURE_MODULES, pytest_plugins


async def test_eventually_returns_once_the_predicate_holds() -> None:
    """A predicate that turns true on its third poll ends the wait after three polls."""
    polls: list[int] = []

    def third_time() -> bool:
        polls.append(1)
        return len(polls) >= 3

    await eventually(third_time, interval=0)
    assert len(polls) == 3


async def test_eventually_awaits_an_async_predicate() -> None:
    """An async predicate is awaited: its result, not the coroutine, decides."""
    answers = iter([False, True])

    async def next_answer() -> bool:
        return next(answers)

    await eventually(next_answer, interval=0)
    assert next(answers, None) is None


async def test_eventually_fails_naming_what_it_waited_for() -> None:
    """A predicate that never holds fails with an AssertionError that names the wait."""
    with pytest.raises(AssertionError, match="still waiting for the impossible"):
        await eventually(lambda: False, "the impossible", timeout=0.05, interval=0.01)


def test_importing_the_kit_imports_neither_pytest_nor_a_server() -> None:
    """``import omnibase_infra.testing`` loads no pytest and no server module (names are lazy)."""
    code = (
        "import sys, omnibase_infra.testing as kit; kit.free_port; "
        "print(sorted(m for m in sys.modules if m == 'pytest' or '.servers' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_face_name_resolves() -> None:
    """Each name of the kit's ``__all__`` loads from its module."""
    missing = [n for n in omnibase_infra.testing.__all__ if not hasattr(omnibase_infra.testing, n)]
    assert missing == []


def test_the_plugin_registers_every_fixture_module() -> None:
    """The pytest plugin lists exactly the modules of ``testing/fixtures/``."""
    folder = Path(omnibase_infra.testing.__file__).parent / "fixtures"
    on_disk = {
        f"omnibase_infra.testing.fixtures.{p.stem}"
        for p in folder.glob("*.py")
        if p.stem != "__init__"
    }
    assert set(FIXTURE_MODULES) == on_disk
    assert pytest_plugins == list(FIXTURE_MODULES)  # pytest-asyncio is installed here
