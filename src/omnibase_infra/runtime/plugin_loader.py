"""Imports the classes contracts name, and only from modules inside an explicit allowlist.

Imports happen while the runtime starts, from contracts on disk; nothing is ever imported
because a message asked for it. The allowlist holds module prefixes: ``omnibase_infra`` (this
package), ``omnibase_core.models`` (core's data models), plus what the runtime config names.

Whatever a module does wrong while it is imported (a syntax error, an exception, even
``sys.exit()``) becomes a ``ProtocolConfigurationError`` naming the contract file, the field
and the reason, so ``onex-infra run`` and ``validate`` report it instead of a traceback or a
silent exit.
"""

from __future__ import annotations

import importlib
import inspect
import re
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.model_contract_route import ModelContractRoute

__all__ = ["DEFAULT_ALLOWLIST", "check_module_allowed", "load_class", "route_import_problems"]

DEFAULT_ALLOWLIST: tuple[str, ...] = ("omnibase_infra", "omnibase_core.models")

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def check_module_allowed(
    module: str, allowlist: Sequence[str], *, where: str, file: str | None = None
) -> None:
    """Raise unless ``module`` is a plain dotted name equal to or under an allowlisted prefix.

    ``where`` is the field naming the module and ``file`` the file it came from, if any.
    """
    # fullmatch, not match with '$': '$' also matches before a trailing newline.
    if not _MODULE.fullmatch(module):
        raise ProtocolConfigurationError(
            f"{module!r} is not a plain module path (no relative, file or path-like names)",
            file=file,
            field=where,
        )
    for prefix in allowlist:
        prefix = prefix.rstrip(".")
        if module == prefix or module.startswith(prefix + "."):
            return
    raise ProtocolConfigurationError(
        f"module {module!r} is outside the handler import allowlist ({', '.join(allowlist)}); "
        "add its package to plugin_allowlist in the runtime config to trust it",
        file=file,
        field=where,
    )


def load_class(
    module: str, name: str, allowlist: Sequence[str], *, where: str, file: str | None = None
) -> type:
    """Import ``module`` (allowlisted) and return its class ``name``.

    ``where`` is the field naming the class and ``file`` the contract it came from, if any.
    """
    check_module_allowed(module, allowlist, where=where, file=file)
    loaded = _import(module, where=where, file=file)
    value: object = getattr(loaded, name, None)
    if not inspect.isclass(value):
        raise ProtocolConfigurationError(f"{module} has no class {name}", file=file, field=where)
    return value


def _import(module: str, *, where: str, file: str | None) -> ModuleType:
    """``importlib.import_module``, every failure of the module's own code made typed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f"cannot import {module}: {exc.msg}"
    except SyntaxError as exc:
        reason = f"cannot import {module}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    except SystemExit as exc:
        # Caught, or the runtime would exit with the plugin's code and not a word.
        reason = f"importing {module} called exit({exc.code!r}); a module must not exit on import"
    except Exception as exc:
        detail = str(exc)[:200]
        reason = f"importing {module} raised {type(exc).__name__}{_raised_at(exc)}" + (
            f": {detail}" if detail else ""
        )
    raise ProtocolConfigurationError(reason, file=file, field=where)


def _raised_at(error: BaseException) -> str:
    """`` at file.py:12``: the innermost frame that raised, outside importlib itself."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<frozen importlib")
    ]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


class _Routed(Protocol):
    """What ``route_import_problems`` reads of a contract (``ModelNodeContract``)."""

    @property
    def path(self) -> Path: ...

    @property
    def routes(self) -> tuple[ModelContractRoute, ...]: ...


def route_import_problems(
    contracts: Iterable[_Routed], allowlist: Sequence[str]
) -> list[ProtocolConfigurationError]:
    """Import every handler and event model the contracts route to; one error per failure.

    What ``onex-infra validate`` adds to the contract checks, so that a plugin that cannot
    be imported is found before ``run``.
    """
    problems: list[ProtocolConfigurationError] = []
    for contract in contracts:
        for index, route in enumerate(contract.routes):
            field = f"handler_routing.handlers.{index}"
            targets = [(route.handler_module, route.handler_class, f"{field}.handler")]
            if route.payload_module is not None and route.payload_type is not None:
                targets.append((route.payload_module, route.payload_type, f"{field}.event_model"))
            for module, name, where in targets:
                try:
                    load_class(module, name, allowlist, where=where, file=str(contract.path))
                except ProtocolConfigurationError as exc:
                    problems.append(exc)
    return problems
