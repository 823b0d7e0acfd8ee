"""Each public package's ``__all__``: sorted, without duplicates, and every name imports.

Packages are found on disk (no import at collection), so a new package with an ``__all__`` is
covered as soon as it appears.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import omnibase_infra

_ROOT = Path(omnibase_infra.__file__).parent
_DECLARES_ALL = re.compile(r"^__all__\s*[:=]", re.M)


def _packages_with_all() -> list[str]:
    """Dotted names of every package under omnibase_infra whose __init__ declares __all__."""
    names: list[str] = []
    for init in sorted(_ROOT.rglob("__init__.py")):
        relative = init.parent.relative_to(_ROOT.parent)
        if any(part.startswith("_") for part in relative.parts):
            continue
        if _DECLARES_ALL.search(init.read_text(encoding="utf-8")):
            names.append(".".join(relative.parts))
    return names


_PACKAGES = _packages_with_all()


def test_the_core_packages_are_covered() -> None:
    """The packages the foundation ships today all declare __all__ and are checked here."""
    assert {
        "omnibase_infra",
        "omnibase_infra.dispatch",
        "omnibase_infra.handlers",
        "omnibase_infra.models",
    } <= set(_PACKAGES)


@pytest.mark.parametrize("package", _PACKAGES)
def test_all_is_sorted_unique_and_every_name_imports(package: str) -> None:
    """__all__ is sorted, has no duplicates, and each name is an attribute of the package."""
    module = importlib.import_module(package)
    exported = module.__all__
    assert isinstance(exported, list | tuple)
    assert list(exported) == sorted(exported), f"{package}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{package}.__all__ has duplicates"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define: {missing}"
