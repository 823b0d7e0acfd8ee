"""What a declared PostgreSQL operation answers with."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumPostgresOperationReturns"]


class EnumPostgresOperationReturns(StrEnum):
    """``rows``: the rows the statement returns; ``status``: the command tag (``INSERT 0 1``)."""

    ROWS = "rows"
    STATUS = "status"
