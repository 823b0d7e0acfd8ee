"""Imports the classes contracts name, and only from modules inside an explicit allowlist.

Imports happen while the runtime starts, from contracts on disk; nothing is ever imported
because a message asked for it. The allowlist holds module prefixes: ``omnibase_infra`` (this
package), ``omnibase_core.models`` (core's data models), plus what the runtime config names.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Sequence

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["DEFAULT_ALLOWLIST", "check_module_allowed", "load_class"]

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
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise ProtocolConfigurationError(
            f"cannot import {module}: {exc.msg}", file=file, field=where
        ) from None
    value: object = getattr(loaded, name, None)
    if not inspect.isclass(value):
        raise ProtocolConfigurationError(f"{module} has no class {name}", file=file, field=where)
    return value
