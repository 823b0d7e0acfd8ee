"""Delivering a partition's ready messages concurrently, in order per key.

Kafka orders messages per partition, but what handlers rely on is order per key (a key always
maps to the same partition). Delivering one message of a partition at a time leaves a
consumer idle while a handler waits on I/O; delivering the ready messages of different keys
at once does not change what any key sees. Both buses hand each partition's next messages
(at most their ``in_flight_per_partition``) to ``deliver_in_key_order``: one chain per key
runs its messages one after another, the chains run concurrently, and the bus commits only
the prefix of offsets whose messages were all delivered, so nothing is committed ahead of a
callback (at-least-once, as before).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

__all__ = ["deliver_in_key_order"]


async def deliver_in_key_order[T](
    items: Sequence[T],
    key_of: Callable[[T], bytes | None],
    deliver: Callable[[T], Awaitable[bool]],
) -> int:
    """Deliver ``items`` (one partition's, in offset order); how many leading items were.

    ``deliver`` returns True once its item was delivered and False when the consumer gave up
    on it (it is leaving); the items after it with the same key are then not delivered. Items
    without a key share one chain, so they keep the partition's order among themselves.
    """
    if len(items) == 1:
        return 1 if await deliver(items[0]) else 0
    chains: dict[bytes | None, list[int]] = {}
    for index, item in enumerate(items):
        chains.setdefault(key_of(item), []).append(index)
    first_undelivered = len(items)

    async def run(chain: list[int]) -> None:
        nonlocal first_undelivered
        for index in chain:
            if not await deliver(items[index]):
                first_undelivered = min(first_undelivered, index)
                return

    if len(chains) == 1:
        await run(next(iter(chains.values())))
        return first_undelivered
    # Eager tasks: a chain whose callbacks never wait (a pure node) runs to its end right here,
    # with no trip through the event loop; only the chains that wait are gathered.
    loop = asyncio.get_running_loop()
    tasks = [asyncio.Task(run(chain), loop=loop, eager_start=True) for chain in chains.values()]
    waiting = [task for task in tasks if not task.done()]
    if waiting:
        await asyncio.gather(*waiting)
    for task in tasks:
        task.result()  # a chain that raised (a bug, or cancelled) raises here
    return first_undelivered
