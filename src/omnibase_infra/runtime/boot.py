"""Where a runtime's start is: the steps under way and what each still waits for.

The hub serves ``/health`` from the first second of a start and ``/ready`` answers 503 naming
what is pending (``pending()``), so an operator never faces a dark port. Each step that
finishes logs one line (``boot phase``: its name, how long it took, what it found); a start
that waits long logs what it waits for every ``WAITING_LOG_SECONDS``, never per message.
Steps may overlap (the consumer groups join while handlers and components start).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.models.model_readiness_report import ModelReadinessReport
from omnibase_infra.observability.logging import get_logger

__all__ = ["WAITING_LOG_SECONDS", "BootProgress"]

_log = get_logger(__name__)

# How often a start that waits logs what it is waiting for.
WAITING_LOG_SECONDS = 10.0

Waiting = Callable[[], Iterable[str]]


class BootProgress:
    """The steps of one start (see module docstring)."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self._steps: dict[str, Waiting] = {}
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def seconds(self) -> float:
        """Seconds since the start began."""
        return round(time.monotonic() - self.began, 3)

    @contextlib.contextmanager
    def step(self, name: str, waiting: Iterable[str] | Waiting = ()) -> Iterator[dict[str, object]]:
        """Mark ``name`` under way; yields a dict of facts to log when it finishes.

        ``waiting`` names what the step waits for (a callable for a list that shrinks, such
        as the consumer groups still joining). A step that fails logs nothing: the error does.
        """
        items = tuple(waiting) if not callable(waiting) else ()
        self._steps[name] = waiting if callable(waiting) else (lambda: items)
        began = time.monotonic()
        facts: dict[str, object] = {}
        try:
            yield facts
        finally:
            self._steps.pop(name, None)
        _log.info(
            "boot phase",
            phase=name,
            seconds=round(time.monotonic() - began, 3),
            since_start=self.seconds,
            **facts,
        )

    def pending(self) -> tuple[str, ...]:
        """What the start still waits for: each step under way, with its items."""
        pending: list[str] = []
        for name, waiting in list(self._steps.items()):
            items = list(waiting())
            pending.append(f"{name}: {', '.join(items)}" if items else name)
        return tuple(pending)

    def report(self, checks: Iterable[ModelHealthCheckResult] = ()) -> ModelReadinessReport:
        """``/ready``'s answer while starting: not ready, naming what is pending."""
        return ModelReadinessReport(
            ready=False, status="starting", pending=self.pending(), checks=tuple(checks)
        )

    def watch(self) -> None:
        """Log what the start waits for every ``WAITING_LOG_SECONDS`` until ``done``."""
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._log_waiting(), name="boot-watchdog")

    async def _log_waiting(self) -> None:
        while True:
            await asyncio.sleep(WAITING_LOG_SECONDS)
            _log.warning("boot waiting", since_start=self.seconds, pending=list(self.pending()))

    def done(self) -> None:
        """Stop the watchdog (the start finished or was given up)."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()
