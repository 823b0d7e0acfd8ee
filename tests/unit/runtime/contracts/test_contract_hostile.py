"""Hostile contracts and plugins: typed errors naming file, field and reason, never a traceback,
a silent exit or a silent skip."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.contracts.contract_loader import discover_contract_files
from omnibase_infra.runtime.contracts.plugin_loader import load_class
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping

ALLOW = ("demo_nodes",)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("name: x\n? [a, b]\n: 1\n", "list"),
        ("name: x\nevent_bus: {{a: 1}: 1}\n", "dict"),
        ("? {a: 1}\n: x\n", "dict"),
    ],
)
def test_unhashable_yaml_key_is_a_typed_error_with_its_line(
    tmp_path: Path, text: str, kind: str
) -> None:
    """A list or mapping used as a YAML key is refused naming the file, line and kind (it
    raised a raw TypeError: unhashable type)."""
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_yaml_mapping(path)
    assert caught.value.file == str(path)
    assert f"found a {kind} used as a key" in caught.value.reason
    assert "line" in caught.value.reason


# -- symlinked contract directories -------------------------------------------------------------


def _contract(directory: Path) -> Path:
    directory.mkdir(parents=True)
    path = directory / "contract.yaml"
    path.write_text("name: x\n")
    return path


def test_symlinked_directory_leading_outside_is_refused_naming_link_target_and_fix(
    tmp_path: Path,
) -> None:
    """A symlinked directory under a contract directory that leads outside every configured
    directory is refused (it was skipped without a word), naming the link, its target and
    the fix."""
    target = _contract(tmp_path / "elsewhere" / "node_x").parent
    root = tmp_path / "root"
    root.mkdir()
    (root / "node_x").symlink_to(target, target_is_directory=True)
    with pytest.raises(ProtocolConfigurationError) as caught:
        discover_contract_files([root], allowlist=ALLOW, use_entry_points=False)
    error = caught.value
    assert error.file == str(root / "node_x")
    assert error.field == "contract_dirs"
    assert str(target) in error.reason
    assert "add" in error.reason
    assert "contract_dirs" in error.reason


def test_symlinked_directory_into_a_configured_directory_is_accepted(tmp_path: Path) -> None:
    """Once the link's target is itself a contract directory, the link is harmless and each
    contract is found once, by its real path."""
    target_root = tmp_path / "elsewhere"
    contract = _contract(target_root / "node_x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "node_x").symlink_to(contract.parent, target_is_directory=True)
    found = discover_contract_files([root, target_root], allowlist=ALLOW, use_entry_points=False)
    assert found == [contract.resolve()]


def test_symlinked_directory_inside_its_root_is_left_alone(tmp_path: Path) -> None:
    """A symlinked directory that stays inside its root adds nothing and refuses nothing."""
    root = tmp_path / "root"
    contract = _contract(root / "node_real")
    (root / "node_alias").symlink_to(contract.parent, target_is_directory=True)
    found = discover_contract_files([root], allowlist=ALLOW, use_entry_points=False)
    assert found == [contract.resolve()]


# -- plugins that fail on import ----------------------------------------------------------------


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh importable package name (its directory on sys.path); its modules are written
    by the test and forgotten after it."""
    name = f"hostile_plugin_{uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def broken(:\n", "invalid syntax"),
        ("x = 1\nraise RuntimeError('boom at import')\n", "raised RuntimeError at"),
        ("raise SystemExit(7)\n", "called exit(7)"),
        ("import sys\nsys.exit('bye')\n", "called exit('bye')"),
        ("raise KeyError('k')\n", "raised KeyError"),
    ],
)
def test_a_plugin_failing_on_import_is_a_configuration_error(
    tmp_path: Path, plugin_package: str, source: str, reason: str
) -> None:
    """A handler module with a syntax error, an exception or a sys.exit() at import raises
    ProtocolConfigurationError naming the contract file and field and the reason (it gave a
    raw traceback, or exited silently with the plugin's code)."""
    (tmp_path / plugin_package / "handler.py").write_text(source)
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_class(
            f"{plugin_package}.handler",
            "Handler",
            (plugin_package,),
            where="handler_routing.handlers.0.handler",
            file="/contracts/node/contract.yaml",
        )
    error = caught.value
    assert reason in error.reason
    assert error.file == "/contracts/node/contract.yaml"
    assert error.field == "handler_routing.handlers.0.handler"


def test_a_plugin_exception_message_is_sanitised(tmp_path: Path, plugin_package: str) -> None:
    """What a failing plugin says goes through the sanitiser: a password in it is masked."""
    (tmp_path / plugin_package / "handler.py").write_text(
        "raise RuntimeError('cannot connect with password=Hunter2-x9')\n"
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_class(f"{plugin_package}.handler", "Handler", (plugin_package,), where="h")
    assert "Hunter2-x9" not in str(caught.value)
