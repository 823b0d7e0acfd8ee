"""Helpers for tests that prove a secret leaks nowhere an error can carry it."""

from __future__ import annotations

import traceback

__all__ = ["error_surface"]


def error_surface(error: BaseException) -> str:
    """Everything an error shows: ``str``, ``repr``, the formatted chain with its causes, and
    (for this package's errors) the serialised error model with its context fields."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    model = getattr(error, "model", None)
    dump = getattr(model, "model_dump_json", None)
    if callable(dump):
        parts.append(str(dump()))
    return "\n".join(parts)
