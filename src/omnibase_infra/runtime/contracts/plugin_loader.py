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
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, JsonValue, ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.contracts.model_contract_route import ModelContractRoute
from omnibase_infra.validation_errors import first_validation_error

if TYPE_CHECKING:
    # An annotation only: the runtime config imports this module before a Kafka runtime's
    # groups begin joining.
    from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy

__all__ = [
    "DEFAULT_ALLOWLIST",
    "check_module_allowed",
    "handler_config",
    "load_class",
    "load_module",
    "route_import_problems",
]

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


def load_module(
    module: str, allowlist: Sequence[str], *, where: str, file: str | None = None
) -> ModuleType:
    """Import ``module`` if it is inside ``allowlist`` (checked before any import)."""
    check_module_allowed(module, allowlist, where=where, file=file)
    return _import(module, where=where, file=file)


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

    @property
    def definition(self) -> object: ...

    @property
    def handler_config(self) -> dict[str, JsonValue] | None: ...

    @property
    def effect_policy(self) -> ModelEffectPolicy | None: ...


def route_import_problems(
    contracts: Iterable[_Routed], allowlist: Sequence[str]
) -> list[ProtocolConfigurationError]:
    """Import every handler and model the contracts name; one error per problem found.

    What ``onex-infra validate`` adds to the contract checks, so that a plugin that cannot be
    imported, a misspelled class, a handler without ``async def handle(context)`` or a model
    that is not a pydantic model is found before ``run``.
    """
    problems: list[ProtocolConfigurationError] = []
    for contract in contracts:
        file = str(contract.path)
        steps = contract.effect_policy is not None and bool(contract.effect_policy.steps)
        for index, route in enumerate(contract.routes):
            field = f"handler_routing.handlers.{index}"
            problem = _handler_problem(
                route, contract.handler_config, allowlist, f"{field}.handler", file, steps=steps
            )
            if problem is not None:
                problems.append(problem)
            if route.payload_module is not None and route.payload_type is not None:
                problem = _model_problem(
                    route.payload_module,
                    route.payload_type,
                    allowlist,
                    f"{field}.event_model",
                    file,
                )
                if problem is not None:
                    problems.append(problem)
        for field in ("input_model", "output_model"):
            dotted = getattr(contract.definition, field, None)
            module, _, name = str(dotted or "").rpartition(".")
            if module and _allowed(module, allowlist):  # core's own names are core's business
                problem = _model_problem(module, name, allowlist, field, file)
                if problem is not None:
                    problems.append(problem)
    return problems


def _allowed(module: str, allowlist: Sequence[str]) -> bool:
    try:
        check_module_allowed(module, allowlist, where="")
    except ProtocolConfigurationError:
        return False
    return True


def _handler_problem(
    route: ModelContractRoute,
    config: dict[str, JsonValue] | None,
    allowlist: Sequence[str],
    where: str,
    file: str,
    *,
    steps: bool = False,
) -> ProtocolConfigurationError | None:
    """Why the route's handler class cannot serve (import, class, signature, its
    ``handler_config``), else None. A multi-step effect's handler (``steps``) registers its
    steps' code (``step_actions``, ``step_compensations``) instead of ``handle``."""
    try:
        cls = load_class(
            route.handler_module, route.handler_class, allowlist, where=where, file=file
        )
    except ProtocolConfigurationError as exc:
        return exc
    named = f"{route.handler_module}.{route.handler_class}"
    reason = _entry_problem(cls, named, steps=steps)
    if reason is None and getattr(cls, "config_model", None) is not None:
        if not _accepts_arguments(cls, 2):
            reason = f"{named}(container, config) cannot be called: it declares a config_model"
        else:
            try:
                handler_config(cls, config, file=file)
            except ProtocolConfigurationError as exc:
                return exc
            return None
    elif reason is None and not _accepts_arguments(cls, 1):
        reason = f"{named}(container) cannot be called: its __init__ must take the container"
    elif reason is None:
        return None
    return ProtocolConfigurationError(reason, file=file, field=where)


def _entry_problem(cls: type, named: str, *, steps: bool) -> str | None:
    """Why the runtime cannot call the handler class's entry points, else None."""
    if steps:
        wanted = ("step_actions", "step_compensations")
        missing = [name for name in wanted if not callable(getattr(cls, name, None))]
        if missing:
            return f"{named} has no {' and '.join(missing)}, which error_handling.steps needs"
        return None
    handle = getattr(cls, "handle", None)
    if handle is None or not inspect.iscoroutinefunction(handle):
        return f"{named} has no `async def handle(self, context)`"
    if len(_parameters(handle)) != 2:
        return f"{named}.handle must take exactly one argument (the dispatch context)"
    return None


def _parameters(function: object) -> list[inspect.Parameter]:
    if not callable(function):
        return []
    try:
        return list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []


def _accepts_arguments(cls: type, count: int) -> bool:
    try:
        inspect.signature(cls).bind(*(object() for _ in range(count)))
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin base): let the start find out
        return True
    return True


def _model_problem(
    module: str, name: str, allowlist: Sequence[str], where: str, file: str
) -> ProtocolConfigurationError | None:
    """Why ``module.name`` is not a usable pydantic model, else None."""
    try:
        cls = load_class(module, name, allowlist, where=where, file=file)
    except ProtocolConfigurationError as exc:
        return exc
    if issubclass(cls, BaseModel):
        return None
    return ProtocolConfigurationError(
        f"{module}.{name} is not a pydantic model", file=file, field=where
    )


def handler_config(
    cls: type, section: dict[str, JsonValue] | None, *, file: str
) -> BaseModel | None:
    """The contract's ``handler_config`` validated by ``cls.config_model``, None without one.

    Raises ``ProtocolConfigurationError`` naming ``handler_config.<field>`` and the reason.
    """
    config_model = getattr(cls, "config_model", None)
    if not (isinstance(config_model, type) and issubclass(config_model, BaseModel)):
        return None
    try:
        return config_model.model_validate(section or {})
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        raise ProtocolConfigurationError(
            reason, file=file, field=f"handler_config.{field}" if field else "handler_config"
        ) from None
