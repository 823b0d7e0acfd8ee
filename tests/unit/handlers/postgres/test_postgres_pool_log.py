"""asyncpg's pool warnings while PostgreSQL is down: one line each, without the traceback, and
the same line not repeated within its interval."""

from __future__ import annotations

import logging
import uuid

import omnibase_infra.handlers.postgres.handler_postgres  # noqa: F401 - installs the pool log filter


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_pool_reconnect_failures_are_one_line_and_not_repeated() -> None:
    """Three failed attempts to refill the pool log one line naming the error, no traceback."""
    logger = logging.getLogger("asyncpg.pool")
    kept = _Records()
    logger.addHandler(kept)
    text = f"Failed to restore the pool connection floor; retrying ({uuid.uuid4().hex})"
    try:
        for _ in range(3):
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except ConnectionRefusedError:
                logger.warning(text, exc_info=True)
    finally:
        logger.removeHandler(kept)
    (record,) = kept.records
    assert record.exc_info is None
    assert record.getMessage() == f"{text} (ConnectionRefusedError: [Errno 111] Connection refused)"
