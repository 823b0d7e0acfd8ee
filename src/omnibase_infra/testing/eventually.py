"""Wait for a condition in a test: the one poll-until-true helper of the test kit."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

__all__ = ["eventually"]


async def eventually(
    predicate: Callable[[], object | Awaitable[object]],
    what: str = "the condition",
    *,
    timeout: float = 60.0,  # noqa: ASYNC109 - the bound is part of what a failure reports
    interval: float = 0.02,
) -> None:
    """Poll ``predicate()`` (it may be async) every ``interval`` seconds until it is truthy.

    Raises ``AssertionError`` naming ``what`` when it is still false after ``timeout`` seconds:
    a generous bound that only a failing test reaches (tests never assert a time).
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(interval)
    except TimeoutError as e:
        raise AssertionError(f"still waiting for {what} after {timeout} s") from e
