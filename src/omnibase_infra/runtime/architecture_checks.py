"""Static checks of node packages: naming conventions and no ``Any`` in signatures.

Source is parsed with ``ast``, never imported, so checking a contract directory runs none of
its code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelArchitectureViolation", "check_python_files"]

_ARCHETYPE_SUFFIXES = ("Effect", "Compute", "Reducer", "Orchestrator")
_FILE_PREFIX_TO_CLASS_PREFIX = {"model_": "Model", "enum_": "Enum", "protocol_": "Protocol"}


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


def _check_tree(path: Path, tree: ast.Module) -> Iterator[ModelArchitectureViolation]:
    yield from _check_any(path, tree)
    yield from _check_class_names(path, tree)


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
