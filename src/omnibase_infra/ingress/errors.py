"""A request the ingress refuses: its HTTP status, a message and the fields at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import JsonValue

__all__ = ["IngressRequestError", "field_error"]


def field_error(loc: Sequence[str | int], msg: str) -> dict[str, JsonValue]:
    """One entry of a 422's ``detail``: where (``["body", "payload", "x"]``) and why."""
    return {"loc": list(loc), "msg": msg}


class IngressRequestError(Exception):
    """Answered as ``{"error": message, "detail": [...]}`` with ``status`` and ``headers``.

    Messages and details never carry the request's values (a payload or a token could be a
    secret), only where and why.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: Sequence[dict[str, JsonValue]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = list(detail)
        self.headers = dict(headers or {})
