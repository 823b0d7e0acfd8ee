"""PEP 562 lazy names: a package's public name imported from its module on first access."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping

__all__ = ["load_lazy_name"]


def load_lazy_name(
    owner: str,
    name: str,
    where: Mapping[str, str],
    namespace: MutableMapping[str, object],
    *,
    package: str = "",
) -> object:
    """Import ``name`` from its module (``where[name]``, under ``package`` if given), cache it
    in ``owner``'s ``namespace`` so later lookups skip this; AttributeError if it is unknown."""
    module = where.get(name)
    if module is None:
        raise AttributeError(f"module {owner!r} has no attribute {name!r}")
    value: object = getattr(
        importlib.import_module(f"{package}.{module}" if package else module), name
    )
    namespace[name] = value
    return value
