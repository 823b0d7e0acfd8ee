"""Pydantic validation errors told by field and reason, never echoing the input.

A foundation (pydantic only): the config, the contract loaders and the codec say what failed
validation the same way, and the config must not pay for the codec's imports (core's envelope,
tracing) to do so: it is read before a Kafka runtime's consumer groups begin joining.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

__all__ = ["describe_validation_error", "error_reason", "first_validation_error"]


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """Summarise a pydantic error by location and message only, never echoing input values."""
    errors: list[ErrorDetails] = exc.errors(include_input=False, include_url=False)
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or '<root>'}: {_message(error)}"
        for error in errors[:limit]
    ]
    if len(errors) > limit:
        parts.append(f"... {len(errors) - limit} more")
    return "; ".join(parts)


def first_validation_error(exc: ValidationError) -> tuple[str | None, str]:
    """The first error's field path and reason (plus how many more), without input values."""
    errors: list[ErrorDetails] = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return field, f"{_message(first)}{more}"


# Some pydantic messages quote part of the input ("found `x` at 3", "got 'abc'"): cut it.
_QUOTED_INPUT = re.compile(r"[:,]? *(?:found|got) [`'\"].*?[`'\"](?: at \d+)?")


def error_reason(error: ErrorDetails) -> str:
    """One pydantic error's reason, without any part of the input it quoted."""
    return _message(error)


def _message(error: ErrorDetails) -> str:
    # "Value error, " is pydantic's prefix for a validator's ValueError: the reason follows.
    return _QUOTED_INPUT.sub("", error["msg"]).removeprefix("Value error, ")
