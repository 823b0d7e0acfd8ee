"""An id for an unexpected exception, shared by its log line and its dead letter.

A handler that raises something other than a ``RuntimeHostError`` has a bug; the DLQ record
says what and where (``raise_site``) and carries an ``error_id``; the one log line with the
sanitised traceback carries the same id, so an operator goes from one to the other.
"""

from __future__ import annotations

import contextlib
import traceback
from pathlib import Path
from uuid import UUID, uuid4

__all__ = ["assign_error_id", "error_id_of", "raise_site"]

_ATTRIBUTE = "onex_error_id"


def assign_error_id(error: BaseException) -> UUID:
    """The error's id, made and attached on first call."""
    known = error_id_of(error)
    if known is not None:
        return known
    made = uuid4()
    # An exception type with __slots__ cannot keep it: the id is then logged, not recorded.
    with contextlib.suppress(AttributeError):
        setattr(error, _ATTRIBUTE, made)
    return made


def error_id_of(error: BaseException) -> UUID | None:
    """The id attached by ``assign_error_id``, if any."""
    value = getattr(error, _ATTRIBUTE, None)
    return value if isinstance(value, UUID) else None


def raise_site(error: BaseException) -> str | None:
    """Where ``error`` was raised: ``file.py:line in function`` (the innermost frame)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"
