"""Wait for a condition in a test: the one poll-until-true helper of the test kit."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

__all__ = ["eventually"]


async def eventually(
    predicate: Callable[[], object | Awaitable[object]], *, within: float = 20.0
) -> None:
    """Wait until ``predicate()`` is truthy (it may be async); ``TimeoutError`` after ``within``."""
    async with asyncio.timeout(within):
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)
