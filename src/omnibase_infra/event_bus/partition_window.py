"""Delivering one partition's messages through a sliding window, adaptively, in order per key.

Most handlers finish without ever waiting (a pure node, a handler that only counts or
validates): for them a task per message, or per key chain, costs more than the handling.
``deliver_in_window`` therefore starts each message in place (``begin`` runs its callback up
to its first real wait) and moves on as soon as it finished; only a message whose callback
actually waits becomes the head of a chain for its key: a task that finishes it and then
delivers the later messages of that key, one after another, while the partition's other keys
go on (the task that began the waiting callback stays with it: a timeout it entered belongs to
that task; a new task takes the partition's next messages). At most ``window`` messages are
started but not finished (or queued behind a waiting key) at once; when that many are, the
next message waits for one to finish (a sliding window, not waves). With ``window`` 1 the
partition is delivered strictly in order.

The caller commits the returned prefix: every message before it was delivered, so nothing is
committed ahead of a callback (at-least-once).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence

__all__ = ["Begin", "Resumed", "deliver_in_window"]

# True: delivered in place. False: not delivered (the consumer is leaving; nothing after it
# starts). An awaitable: the rest of the delivery, True once delivered, False when given up.
type Begin = bool | Awaitable[bool]


async def deliver_in_window[T](
    items: Sequence[T],
    key_of: Callable[[T], bytes | None],
    begin: Callable[[T], Begin],
    window: int,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Deliver ``items`` (one partition's, in offset order); how many leading items were.

    ``on_progress`` hears the delivered prefix whenever the delivery has to wait.
    """
    run = _WindowRun(items, key_of, begin, window, on_progress)
    return await run.deliver()


class _WindowRun[T]:
    """The state of one ``deliver_in_window`` call.

    A callback that waited did so in the task that began it (a timeout or task group it
    entered belongs to that task), so that task stays with it: it finishes the message and
    the key's later ones, and a new task goes on with the partition's next messages.
    """

    __slots__ = (
        "begin",
        "busy",
        "failure",
        "first_lost",
        "items",
        "key_of",
        "on_progress",
        "pending",
        "stop_at",
        "tasks",
        "waiter",
        "window",
    )

    def __init__(
        self,
        items: Sequence[T],
        key_of: Callable[[T], bytes | None],
        begin: Callable[[T], Begin],
        window: int,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.items = items
        self.key_of = key_of
        self.begin = begin
        self.window = window
        self.on_progress = on_progress
        # key -> [index of the message its chain is on], later indexes of that key waiting.
        self.busy: dict[bytes | None, tuple[list[int], deque[int]]] = {}
        self.pending = 0  # messages in chains, not finished
        self.first_lost = len(items)
        self.stop_at = len(items)
        self.tasks: list[asyncio.Task[None]] = []
        self.waiter: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None  # a chain that raised (a bug)

    async def deliver(self) -> int:
        try:
            await self._drive(0)
            while any(not task.done() for task in self.tasks):
                if self.on_progress is not None and self.busy:
                    self.on_progress(self._prefix(self.stop_at))
                await asyncio.gather(*self.tasks)  # a chain that raised (a bug) raises here
            for task in self.tasks:
                task.result()
        except BaseException:
            for task in self.tasks:
                task.cancel()
            raise
        return min(self.stop_at, self.first_lost)

    async def _drive(self, start: int) -> None:
        """Begin the messages from ``start`` on, until one waits: then finish its key here."""
        items, key_of, begin, busy = self.items, self.key_of, self.begin, self.busy
        for index in range(start, len(items)):
            if self.pending >= self.window:
                await self._slot(index)
            item = items[index]
            if busy:  # some key waits: its later messages queue behind it
                key = key_of(item)
                chain = busy.get(key)
                if chain is not None:
                    chain[1].append(index)
                    self.pending += 1
                    continue
            started = begin(item)
            if started is True:
                continue
            if started is False:
                self.stop_at = index
                return
            self.pending += 1
            head = [index]
            key = key_of(item)
            busy[key] = (head, deque())
            if index + 1 < len(items):
                self.tasks.append(asyncio.create_task(self._drive(index + 1)))
            await self._chain(key, head, started)
            return

    def _prefix(self, next_index: int) -> int:
        """The delivered prefix while chains run: up to the earliest message not finished."""
        heads = [head[0] for head, _ in self.busy.values()]
        return min([next_index, self.first_lost, *heads])

    async def _slot(self, index: int) -> None:
        """Wait until fewer than ``window`` messages are unfinished."""
        if self.on_progress is not None:
            self.on_progress(self._prefix(index))
        while self.pending >= self.window:
            if self.failure is not None:
                raise self.failure
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter

    def _finished(self, count: int) -> None:
        self.pending -= count
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _chain(self, key: bytes | None, head: list[int], started: Awaitable[bool]) -> None:
        """Finish the key's waiting message, then deliver the key's later ones in order."""
        queue = self.busy[key][1]
        try:
            result: Begin = started
            while True:
                delivered = result if isinstance(result, bool) else await result
                self._finished(1)
                if not delivered:
                    self.first_lost = min(self.first_lost, head[0])
                    self._finished(len(queue))
                    return
                if not queue:
                    return
                head[0] = queue.popleft()
                result = self.begin(self.items[head[0]])
        except BaseException as exc:
            self.failure = exc
            self._finished(0)  # wakes a delivery waiting for a slot: it raises
            raise
        finally:
            # No await between the empty-queue check and here: no message joins a chain
            # that is ending.
            del self.busy[key]


class Resumed[R]:
    """Awaiting it finishes a coroutine started by hand (``coro.send(None)`` gave
    ``pending``, what it waits on), in the awaiting task, the task that started it."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[object, None, R], pending: object) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[object, None, R]:
        coro = self._coro
        try:
            yield self._pending  # the awaiting task waits on it, then resumes the coroutine
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # thrown in (cancelled): into the coroutine
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                thrown: R = stop.value
                return thrown
            return (yield from Resumed(coro, pending).__await__())
        return (yield from coro.__await__())
