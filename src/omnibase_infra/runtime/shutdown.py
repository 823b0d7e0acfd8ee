"""The two halves of a runtime's stop: drain what was accepted, then close what started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.consumer_groups import ConsumerGroups
from omnibase_infra.runtime.plugins.protocol_runtime_component import ProtocolRuntimeComponent

__all__ = ["StopStep", "drain", "pending_messages", "run_stop_steps"]

_log = get_logger(__name__)
StopStep = Callable[[], Awaitable[object]]


async def drain(
    components: Sequence[ProtocolRuntimeComponent],
    bus: EventBusBase,
    groups: ConsumerGroups,
    abort: asyncio.Event,
    budget: float,
) -> str | None:
    """Stop the components, handle everything accepted, leave the groups (offsets committed);
    None, or why the drain was cut short (``abort`` set, ``budget`` seconds over, a failure)."""

    async def run() -> None:
        for component in reversed(components):
            await _quietly(component.stop)
        if isinstance(bus, EventBusInmemory):
            # In-memory messages exist nowhere else: process all accepted ones first.
            await bus.wait_idle()
        await groups.leave()

    draining = asyncio.create_task(run(), name="runtime-drain")
    aborted = asyncio.create_task(abort.wait(), name="runtime-abort")
    try:
        done, _ = await asyncio.wait(
            (draining, aborted), timeout=budget, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (draining, aborted):
            task.cancel()
        await asyncio.gather(draining, aborted, return_exceptions=True)
    if draining in done and draining.exception() is None:
        return None
    if draining in done:
        _log.error("drain failed", error=str(draining.exception()))
        return "drain failed"
    return "second stop signal" if aborted in done else "grace period over"


async def pending_messages(bus: EventBusBase) -> int:
    """Messages accepted by the bus and not yet handled (in flight included); -1 if unknown."""
    try:
        return await bus.pending_messages()
    except Exception:  # a broken bus must not stop the stop
        return -1


async def run_stop_steps(steps: Sequence[StopStep], deadline: float | None) -> None:
    """Run each step in order, never raising; with a ``deadline``, a step still running then
    (one stuck behind a handler that never returns) is abandoned, so the process still exits."""
    for step in steps:
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.05)
        try:
            async with asyncio.timeout(timeout):
                await step()
        except TimeoutError:
            _log.warning("abandoned a stop step", step=repr(step), seconds=timeout)
        except Exception as exc:
            _log.warning("error while stopping", step=repr(step), error=str(exc))


async def _quietly(step: StopStep) -> None:
    try:
        await step()
    except Exception as exc:
        _log.warning("error while stopping", step=repr(step), error=str(exc))
