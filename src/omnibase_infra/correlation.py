"""The correlation id of the work in progress, carried in a context variable.

The dispatch engine sets it from each incoming envelope (or generates one when the envelope has
none); logs, errors and outgoing envelopes read it from here, so nothing has to thread it by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID, uuid4

__all__ = [
    "correlation_scope",
    "current_correlation_id",
    "ensure_correlation_id",
    "enter_correlation_id",
    "set_correlation_id",
]

_correlation_id: ContextVar[UUID | None] = ContextVar("onex_correlation_id", default=None)


def current_correlation_id() -> UUID | None:
    """Return the correlation id of the current context, or None outside any."""
    return _correlation_id.get()


def ensure_correlation_id() -> UUID:
    """Return the current correlation id, generating (uuid4) and setting one when absent."""
    value = _correlation_id.get()
    if value is None:
        value = uuid4()
        _correlation_id.set(value)
    return value


def set_correlation_id(value: UUID | None) -> None:
    """Set the correlation id of the current context (a new task inherits it)."""
    _correlation_id.set(value)


@contextmanager
def correlation_scope(value: UUID | None = None) -> Iterator[UUID]:
    """Run a block under ``value`` (or a fresh uuid4), restoring the previous id afterwards."""
    chosen = value if value is not None else uuid4()
    token = _correlation_id.set(chosen)
    try:
        yield chosen
    finally:
        _correlation_id.reset(token)


# The context variable's own ``set`` (one C call, its token unused): for the dispatch engine's
# hot path, where the Python wrapper ``set_correlation_id`` costs as much as the set itself.
enter_correlation_id = _correlation_id.set
