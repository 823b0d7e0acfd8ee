"""Static checks: node packages (naming, no ``Any`` in signatures, never the host) and the
package's layers (``runtime/`` imports no node; no node imports ``runtime.host``).

Source is parsed with ``ast``, never imported, so checking a contract directory runs none of
its code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelArchitectureViolation", "check_package_layers", "check_python_files"]

_ARCHETYPE_SUFFIXES = ("Effect", "Compute", "Reducer", "Orchestrator")
_FILE_PREFIX_TO_CLASS_PREFIX = {"model_": "Model", "enum_": "Enum", "protocol_": "Protocol"}
# What a node receives through the container instead (contracts, its settings, services).
_HOST_MODULE = "omnibase_infra.runtime.host"
_NODES_PACKAGE = "omnibase_infra.nodes"


class ModelArchitectureViolation(BaseModel):
    """One broken rule: where, which rule, and what to do about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int
    rule: str
    message: str


def check_python_files(files: Iterable[Path]) -> list[ModelArchitectureViolation]:
    """Every violation in the given Python files (syntax errors are reported, not raised)."""
    violations: list[ModelArchitectureViolation] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            violations.append(
                ModelArchitectureViolation(
                    file=str(path),
                    line=getattr(exc, "lineno", 0) or 0,
                    rule="parse",
                    message=f"cannot parse: {type(exc).__name__}",
                )
            )
            continue
        violations.extend(_check_tree(path, tree))
    return violations


def check_package_layers(package_root: Path) -> list[ModelArchitectureViolation]:
    """Imports that run back up the layers of ``omnibase_infra`` (its folder: ``package_root``).

    The runtime runs any set of nodes and knows none of them: nothing under ``runtime/``
    imports ``omnibase_infra.nodes``; node code (``nodes/``) never imports the host.
    """
    violations: list[ModelArchitectureViolation] = []
    for path in sorted((package_root / "runtime").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, module in _imports(tree, _module_of(path, package_root)):
            if _within(module, _NODES_PACKAGE):
                violations.append(
                    _violation(
                        path,
                        node,
                        "layers",
                        f"runtime code imports {module}: the runtime knows no node (a node "
                        "plugin gives it what it needs)",
                    )
                )
    for path in sorted((package_root / "nodes").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        violations.extend(_check_host_imports(path, tree, _module_of(path, package_root)))
    return violations


def _module_of(path: Path, package_root: Path) -> str:
    """The dotted name of ``path`` (``omnibase_infra.runtime.host``; a package's
    ``__init__`` kept, so a relative import resolves against the package itself)."""
    parts = path.relative_to(package_root).with_suffix("").parts
    return ".".join((package_root.name, *parts))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports(tree: ast.Module, module: str | None) -> Iterator[tuple[ast.stmt, str]]:
    """Every module a file imports (``TYPE_CHECKING`` and function-level imports included);
    relative imports are resolved when the file's own module is known."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            elif module is not None:
                package = module.split(".")[: -node.level] if node.level else []
                base = ".".join([*package, *([node.module] if node.module else [])])
            else:
                continue
            yield node, base
            for alias in node.names:
                yield node, f"{base}.{alias.name}"


def _check_host_imports(
    path: Path, tree: ast.Module, module: str | None = None
) -> Iterator[ModelArchitectureViolation]:
    seen: set[int] = set()
    for node, imported in _imports(tree, module):
        if _within(imported, _HOST_MODULE) and id(node) not in seen:
            seen.add(id(node))
            yield _violation(
                path,
                node,
                "layers",
                f"node code imports {_HOST_MODULE}: read contracts and settings from the "
                "container (ModelLoadedContracts, the plugin's settings model)",
            )


def _check_tree(path: Path, tree: ast.Module) -> Iterator[ModelArchitectureViolation]:
    yield from _check_any(path, tree)
    yield from _check_class_names(path, tree)
    yield from _check_host_imports(path, tree)


def _violation(path: Path, node: ast.AST, rule: str, message: str) -> ModelArchitectureViolation:
    return ModelArchitectureViolation(
        file=str(path), line=getattr(node, "lineno", 0), rule=rule, message=message
    )


def _mentions_any(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Any":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Any":
            return True
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "Any" in (node.value.replace("[", " ").replace("]", " ").replace(",", " ").split())
        ):
            return True
    return False


def _check_any(path: Path, tree: ast.Module) -> Iterator[ModelArchitectureViolation]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
            if _mentions_any(node.returns) or any(_mentions_any(a.annotation) for a in arguments):
                yield _violation(
                    path,
                    node,
                    "no-any",
                    f"{node.name}() uses Any in its signature: use object, JsonValue, a Protocol "
                    "or a generic",
                )
        elif isinstance(node, ast.AnnAssign) and _mentions_any(node.annotation):
            yield _violation(path, node, "no-any", "annotation uses Any")


def _check_class_names(path: Path, tree: ast.Module) -> Iterator[ModelArchitectureViolation]:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    stem = path.stem
    for file_prefix, class_prefix in _FILE_PREFIX_TO_CLASS_PREFIX.items():
        if stem.startswith(file_prefix):
            for cls in classes:
                if not cls.name.startswith(class_prefix) and not cls.name.startswith("_"):
                    yield _violation(
                        path,
                        cls,
                        "naming",
                        f"class {cls.name} in {path.name} should be named {class_prefix}*",
                    )
    if stem == "node":
        for cls in classes:
            if cls.name.startswith("_"):
                continue
            if not (cls.name.startswith("Node") and cls.name.endswith(_ARCHETYPE_SUFFIXES)):
                yield _violation(
                    path,
                    cls,
                    "naming",
                    f"node class {cls.name} should be Node<Name><Effect|Compute|Reducer|"
                    "Orchestrator>",
                )
    for cls in classes:
        bases = {b.id for b in cls.bases if isinstance(b, ast.Name)}
        if bases & {"Exception", "RuntimeHostError"} and not cls.name.endswith("Error"):
            yield _violation(
                path, cls, "naming", f"error class {cls.name} should be <Domain><Type>Error"
            )
