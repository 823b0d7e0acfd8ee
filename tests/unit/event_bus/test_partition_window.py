"""The adaptive, windowed delivery of one partition's messages (``partition_window``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from omnibase_infra.event_bus.partition_window import Begin, Resumed, deliver_in_window

Item = tuple[bytes, int]


def _key(item: Item) -> bytes:
    return item[0]


def _begin_with(
    handle: dict[int, asyncio.Event], seen: list[int], tasks_seen: set[asyncio.Task[object]]
) -> Callable[[Item], Begin]:
    async def callback(item: tuple[bytes, int]) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks_seen.add(task)
        event = handle.get(item[1])
        if event is not None:
            await event.wait()
        seen.append(item[1])

    async def rest(coro: Resumed[None]) -> bool:
        await coro
        return True

    def begin(item: tuple[bytes, int]) -> Begin:
        coro = callback(item)
        try:
            pending = coro.send(None)
        except StopIteration:
            return True
        return rest(Resumed(coro, pending))

    return begin


async def test_callbacks_that_never_wait_run_in_order_in_the_calling_task() -> None:
    """Messages whose callbacks finish without waiting are all delivered, in offset order,
    inside the task that called ``deliver_in_window`` (no task per message)."""
    items = [(bytes([i % 3]), i) for i in range(20)]
    seen: list[int] = []
    tasks: set[asyncio.Task[object]] = set()
    begin = _begin_with({}, seen, tasks)
    delivered = await deliver_in_window(items, _key, begin, 4)
    assert delivered == 20
    assert seen == list(range(20))
    assert tasks == {asyncio.current_task()}


async def test_a_waiting_key_holds_only_its_own_later_messages() -> None:
    """While the callback of key a's first message waits, key b's messages are delivered and
    a's second one is not; once it is released a's messages follow in order."""
    release = asyncio.Event()
    items = [(b"a", 0), (b"b", 1), (b"a", 2), (b"b", 3)]
    seen: list[int] = []
    begin = _begin_with({0: release}, seen, set())
    run = asyncio.create_task(deliver_in_window(items, _key, begin, 4))
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == [1, 3]
    release.set()
    assert await run == 4
    assert seen == [1, 3, 0, 2]


async def test_the_window_bounds_the_unfinished_messages() -> None:
    """With a window of 1 a waiting message holds the whole partition: nothing after it
    starts until it finished (strict order)."""
    release = asyncio.Event()
    items = [(b"a", 0), (b"b", 1)]
    seen: list[int] = []
    begin = _begin_with({0: release}, seen, set())
    run = asyncio.create_task(deliver_in_window(items, _key, begin, 1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == []
    release.set()
    assert await run == 2
    assert seen == [0, 1]


async def test_a_timeout_entered_before_the_first_wait_cancels_only_its_callback() -> None:
    """A callback that enters ``asyncio.timeout`` before it waits is cut by that timeout (its
    own task stays with it), and the partition's other messages are still delivered."""
    outcomes: list[str] = []

    async def callback(item: tuple[bytes, int]) -> None:
        try:
            async with asyncio.timeout(0 if item[1] == 0 else 5):
                await asyncio.sleep(0.01 if item[1] == 0 else 0)
            outcomes.append(f"done {item[1]}")
        except TimeoutError:
            outcomes.append(f"timed out {item[1]}")

    async def rest(coro: Resumed[None]) -> bool:
        await coro
        return True

    def begin(item: tuple[bytes, int]) -> Begin:
        coro = callback(item)
        try:
            pending = coro.send(None)
        except StopIteration:
            return True
        return rest(Resumed(coro, pending))

    items = [(b"a", 0), (b"b", 1), (b"c", 2)]
    assert await deliver_in_window(items, _key, begin, 4) == 3
    assert sorted(outcomes) == ["done 1", "done 2", "timed out 0"]
