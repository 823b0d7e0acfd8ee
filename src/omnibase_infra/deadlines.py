"""``DeadlineWatchdog``: timeouts for every call of an effect, with one timer for all of them.

A foundation module (generic timers; it imports only errors, enums and models), so handlers
and resilience alike may use it.

``asyncio.timeout()`` schedules (and cancels) a timer per call, about 3-5 us here; an effect
calls its handler many thousands of times a second with the same timeout. Because every call
of one watchdog has the same duration, deadlines are registered in increasing order: a FIFO
of deadlines and a single timer armed for the oldest live one do the same job. Entering costs
a clock read and an append; leaving marks the entry done and drops finished entries from the
front. When the timer fires it cancels the tasks whose deadline has passed and re-arms itself
for the next live deadline, so a steady stream of calls costs one timer per timeout period.

Expiry behaves as ``asyncio.timeout`` does: the task is cancelled, and the ``CancelledError``
leaving the call is turned into ``InfraTimeoutError`` unless the task was also cancelled from
outside (then the cancellation propagates). Deadlines follow the event loop's clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraTimeoutError
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext

__all__ = ["Deadline", "DeadlineWatchdog"]


class Deadline:
    """One registered call: its deadline, its task, and whether it finished or expired."""

    __slots__ = ("at", "cancelling", "done", "expired", "task")

    def __init__(self, at: float, task: asyncio.Task[object], cancelling: int) -> None:
        self.at = at
        self.task = task
        self.cancelling = cancelling
        self.done = False
        self.expired = False


class DeadlineWatchdog:
    """Cancels calls that outlive ``timeout_seconds`` and reports them as InfraTimeoutError."""

    __slots__ = (
        "_loop",
        "_pending",
        "_timer",
        "operation",
        "target_name",
        "timeout_seconds",
        "transport_type",
    )

    def __init__(
        self,
        timeout_seconds: float,
        *,
        operation: str,
        target_name: str | None = None,
        transport_type: EnumInfraTransportType | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        self.timeout_seconds = timeout_seconds
        self.operation = operation
        self.target_name = target_name
        self.transport_type = transport_type
        self._pending: deque[Deadline] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        """Registered entries not yet dropped (live calls plus finished ones behind a live one)."""
        return len(self._pending)

    def enter(self) -> Deadline:
        """Register the current task's call; pair with ``leave`` or ``leave_failed``."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("DeadlineWatchdog.enter() must be called from a task")
        if loop is not self._loop:
            self._rebind(loop)
        entry = Deadline(loop.time() + self.timeout_seconds, task, task.cancelling())
        self._pending.append(entry)
        if self._timer is None:
            self._timer = loop.call_at(entry.at, self._fire)
        return entry

    def leave(self, entry: Deadline) -> None:
        """The call returned normally."""
        entry.done = True
        if entry.expired:
            # The call swallowed our cancellation and returned anyway: take the request back.
            entry.task.uncancel()
        pending = self._pending
        while pending and pending[0].done:
            pending.popleft()

    def leave_failed(self, entry: Deadline, error: BaseException) -> BaseException:
        """The call raised ``error``; returns the error to raise (a timeout if we caused it)."""
        entry.done = True
        pending = self._pending
        while pending and pending[0].done:
            pending.popleft()
        if (
            entry.expired
            and entry.task.uncancel() <= entry.cancelling
            and isinstance(error, asyncio.CancelledError)
        ):
            timeout = InfraTimeoutError(
                f"{self.operation} did not finish within {self.timeout_seconds}s",
                context=ModelInfraErrorContext(
                    transport_type=self.transport_type,
                    operation=self.operation,
                    target_name=self.target_name,
                ),
                timeout_seconds=self.timeout_seconds,
            )
            # As ``raise timeout from error`` would, wherever the caller raises it.
            timeout.__cause__ = error
            timeout.__suppress_context__ = True
            return timeout
        return error

    async def call[**P, T](
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``fn(*args, **kwargs)`` within the timeout."""
        entry = self.enter()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            error = self.leave_failed(entry, exc)
            if error is exc:
                raise
            raise error from exc
        self.leave(entry)
        return result

    def _rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        # A watchdog outlived its event loop (tests run one loop each): forget the old one.
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._pending.clear()
        self._loop = loop

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        pending = self._pending
        while pending:
            head = pending[0]
            if head.done:
                pending.popleft()
            elif head.at > now:
                self._timer = loop.call_at(head.at, self._fire)
                return
            else:
                pending.popleft()
                head.expired = True
                head.task.cancel()
