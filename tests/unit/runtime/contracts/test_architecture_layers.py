"""The package's layers: ``runtime/`` imports no node and no node imports ``runtime.host``;
the check itself finds such imports (plain, ``from``, relative, under ``TYPE_CHECKING``)."""

from __future__ import annotations

from pathlib import Path

import omnibase_infra
from omnibase_infra.runtime.contracts.architecture_checks import (
    check_package_layers,
    check_python_files,
)

PACKAGE = Path(omnibase_infra.__file__).parent


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "omnibase_infra"
    for name, text in {"runtime/__init__.py": "", "nodes/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_package_has_no_import_running_back_up() -> None:
    """omnibase_infra as shipped: the runtime names no node, no node reaches for the host."""
    assert check_package_layers(PACKAGE) == []


def test_runtime_importing_a_node_is_a_violation(tmp_path: Path) -> None:
    """Each way of importing a node from runtime/ is reported, with its file and line."""
    root = _package(
        tmp_path,
        {
            "runtime/a.py": "import omnibase_infra.nodes.registration\n",
            "runtime/b.py": "from omnibase_infra.nodes import registration\n",
            "runtime/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from omnibase_infra.nodes.registration.plugin import PLUGIN\n"
            ),
            "runtime/d.py": "from ..nodes.registration import plugin\n",
            "runtime/fine.py": "from omnibase_infra.runtime import a\nimport omnibase_infra\n",
        },
    )
    found = {(Path(v.file).name, v.line, v.rule) for v in check_package_layers(root)}
    assert found == {
        ("a.py", 1, "layers"),
        ("b.py", 1, "layers"),
        ("c.py", 3, "layers"),
        ("d.py", 1, "layers"),
    }


def test_a_node_importing_the_host_is_a_violation(tmp_path: Path) -> None:
    """A node importing runtime.host (even lazily, in a function) is reported; other runtime
    modules are fine for nodes to import."""
    root = _package(
        tmp_path,
        {
            "nodes/node_x/handler.py": (
                "def f() -> None:\n    from omnibase_infra.runtime.host import RuntimeHostProcess\n"
            ),
            "nodes/node_y/handler.py": "from omnibase_infra.runtime import host\n",
            "nodes/node_z/handler.py": "from omnibase_infra.runtime.config import x\n",
        },
    )
    found = {(v.file.split("/")[-2], v.line) for v in check_package_layers(root)}
    assert found == {("node_x", 2), ("node_y", 1)}


def test_validate_reports_a_node_package_importing_the_host(tmp_path: Path) -> None:
    """``onex-infra validate`` checks node packages for the same rule."""
    path = tmp_path / "handler.py"
    path.write_text("import omnibase_infra.runtime.host\n", encoding="utf-8")
    assert [(v.rule, v.line) for v in check_python_files([path])] == [("layers", 1)]
