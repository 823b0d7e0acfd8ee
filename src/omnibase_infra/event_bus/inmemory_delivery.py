"""The consuming half of the in-memory bus: one delivery task per (group, partition).

Each task hands its partition's ready messages to the member that holds the partition, at
most the group's ``in_flight`` at once (concurrently across keys, one at a time per key, see
``key_order``), and commits an offset only once the callbacks of it and of every message
before it returned. A callback that raises or nacks gets the same message again after a
bounded, growing delay; one that parks it holds the partition and gets it again only every
``park_seconds``, with an alarm.

The path of every delivered message, so the common case (one message ready, or a group that
takes one at a time) runs in the partition's own task with no list, partial or extra coroutine
per message, and a message's headers are copied only when its subscriber reads them.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from functools import partial

from omnibase_infra.correlation import enter_correlation_id
from omnibase_infra.event_bus.inmemory_state import Group, Member, Partition, Record, Signal, Topic
from omnibase_infra.event_bus.key_order import deliver_in_key_order
from omnibase_infra.event_bus.message import (
    BusMessage,
    redelivery_delay,
    report_parked,
    report_raised,
)
from omnibase_infra.observability.logging import get_logger

__all__ = ["PartitionDelivery", "own_delivery_tasks"]

_log = get_logger(__name__)

_REDELIVERY_BASE_SECONDS = 0.01
_REDELIVERY_MAX_SECONDS = 1.0

# The delivery task of the partition whose callback is running in this context: a callback
# that leaves its group (or closes the bus) must not wait for, or cancel, its own delivery.
_partition_task: ContextVar[asyncio.Task[None] | None] = ContextVar(
    "inmemory_partition_task", default=None
)


def own_delivery_tasks() -> set[asyncio.Task[None] | None]:
    """The tasks a caller inside a callback runs in (its own and its partition's)."""
    return {asyncio.current_task(), _partition_task.get()}


class PartitionDelivery:
    """Runs the delivery tasks of a bus and keeps its parked partitions (see module doc)."""

    def __init__(self, *, park_seconds: float, progress: Signal) -> None:
        self._park_seconds = park_seconds
        self._progress = progress  # fired on every commit
        # (topic, group, partition) -> offset of the message the partition is parked at.
        self._parked: dict[tuple[str, str, int], int] = {}

    def start(self, state: Topic, group: Group) -> None:
        """Start the group's delivery tasks, one per partition (a new generation)."""
        group.generation += 1
        group.epoch += 1
        group.tasks = [
            asyncio.create_task(
                self._run(state, group, index, group.generation),
                name=f"{state.name}/{group.group_id}/{index}",
            )
            for index in range(len(state.partitions))
        ]

    def parked_offset(self, topic: str, group_id: str, index: int) -> int | None:
        """The offset a group's partition is parked at, if it is."""
        return self._parked.get((topic, group_id, index))

    async def _run(self, state: Topic, group: Group, index: int, generation: int) -> None:
        """Deliver one partition to the group, in order per key, committing what was delivered."""
        partition = state.partitions[index]
        task = asyncio.current_task()
        assert task is not None  # always runs as a task created by start
        _partition_task.set(task)
        while group.members and group.generation == generation:
            offset = group.committed[index]
            if offset < partition.base:
                offset = partition.base
            end = partition.end
            if offset >= end:
                await partition.new_data.wait()
                continue
            member = group.members[index % len(group.members)]
            if group.in_flight == 1 or end - offset == 1:
                await self._deliver_in_order(state, group, member, index, generation, task, offset)
                continue
            end = min(end, offset + group.in_flight)
            ready = [(o, partition.log[o - partition.base]) for o in range(offset, end)]
            deliver = partial(self._deliver_item, state, group, member, index, generation)
            delivered = await deliver_in_key_order(ready, _key, deliver)
            if delivered:
                self._commit(partition, group, index, offset + delivered)

    def _commit(self, partition: Partition, group: Group, index: int, offset: int) -> None:
        """Commit ``offset`` and wake whoever waits for it (publishers, ``wait_idle``)."""
        group.committed[index] = offset
        if partition.space.waiters:
            partition.space.fire()
        if self._progress.waiters:
            self._progress.fire()

    async def _deliver_in_order(
        self,
        state: Topic,
        group: Group,
        member: Member,
        index: int,
        generation: int,
        task: asyncio.Task[None],
        offset: int,
    ) -> None:
        """Deliver the partition's ready messages from ``offset`` one at a time, committing each
        as its callback returns, until none is ready or ``member`` no longer holds the partition
        (a group taking several at once: only the message at ``offset``).

        The path of every message of a group that takes one at a time (and of a lone ready
        message), so the first delivery of each message is inlined here: the callback is
        awaited directly (one that never waits costs no task switch), its commit costs a list
        store, and only a message that failed goes through ``_deliver_one``'s redelivery loop.
        """
        partition = state.partitions[index]
        # ``member`` holds the partition now (the caller just chose it, nothing waited since),
        # and it does as long as the group's members and generation stay as they are.
        epoch = group.epoch
        committed = group.committed
        callback = member.callback
        delivering = member.delivering
        space = partition.space
        progress = self._progress
        topic = state.name
        # A group that takes several at once gets only the lone ready message here: what
        # arrives meanwhile goes to ``deliver_in_key_order``, concurrently across keys.
        drain = group.in_flight == 1
        stop = offset + 1
        # In ``delivering`` for the whole run, not per message: between two callbacks nothing
        # waits, so a member leaving sees the same (it waits for the callback running, and the
        # run ends right after it); a failed message leaves it before its redelivery pause.
        delivering.add(task)
        try:
            # A member that joined, or this one leaving, ends the run (the partition may move).
            while offset < (partition.end if drain else stop) and group.epoch == epoch:
                record = partition.log[offset - partition.base]
                message = BusMessage(
                    topic,
                    record.key,
                    record.value,
                    None,
                    index,
                    offset,
                    record.timestamp,
                    record,  # headers copied from the record on first read
                )
                try:
                    await callback(message)
                    taken = not message._nacked  # the slot, not its property: a call less
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    report_raised(message, exc, group_id=group.group_id)
                    taken = False
                if taken:
                    if self._parked:
                        self._unpark(topic, group.group_id, index)
                else:
                    self._settle(member, task)
                    await asyncio.sleep(self._failure_delay(message, group.group_id, 1))
                    if not await self._deliver_one(
                        state, group, member, index, generation, task, offset, record, failures=1
                    ):
                        return
                    delivering.add(task)
                offset += 1
                # Committed as soon as handled (not once per run): a publisher held back by
                # the bound, or ``wait_idle``, sees it at once, and a callback that waits later
                # in the run leaves nothing handled uncommitted behind it.
                committed[index] = offset
                if space.waiters:
                    space.fire()
                if progress.waiters:
                    progress.fire()
        finally:
            # A callback may leave its message's correlation id set (the dispatch engine does,
            # to save a context-variable write per message): cleared once per run.
            enter_correlation_id(None)
            self._settle(member, task)

    @staticmethod
    def _settle(member: Member, task: asyncio.Task[None]) -> None:
        """``task`` is in none of ``member``'s callbacks now: wake a leave waiting for that."""
        member.delivering.discard(task)
        if member.settled.waiters:
            member.settled.fire()

    async def _deliver_item(
        self,
        state: Topic,
        group: Group,
        member: Member,
        index: int,
        generation: int,
        item: tuple[int, Record],
    ) -> bool:
        """``_deliver_one`` for one of several ready messages (in a key chain's own task)."""
        task = asyncio.current_task()
        assert task is not None
        return await self._deliver_one(state, group, member, index, generation, task, *item)

    async def _deliver_one(
        self,
        state: Topic,
        group: Group,
        member: Member,
        index: int,
        generation: int,
        task: asyncio.Task[None],
        offset: int,
        record: Record,
        failures: int = 0,
    ) -> bool:
        """Deliver one message to ``member`` until it takes it; False once the member left.

        ``failures``: how many deliveries of it failed already (the in-order path's first).
        """
        while member in group.members and group.generation == generation:
            message = BusMessage(
                state.name,
                record.key,
                record.value,
                None,
                index,
                offset,
                record.timestamp,
                record,  # headers copied from the record on first read
            )
            delivering = member.delivering
            delivering.add(task)
            try:
                await member.callback(message)
                taken = not message.nacked
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                report_raised(message, exc, group_id=group.group_id)
                taken = False
            finally:
                delivering.discard(task)
                member.settled.fire()
            if taken:
                if self._parked:
                    self._unpark(state.name, group.group_id, index)
                return True
            failures += 1
            await asyncio.sleep(self._failure_delay(message, group.group_id, failures))
        return False

    def _failure_delay(self, message: BusMessage, group_id: str, failures: int) -> float:
        """The pause before delivering a failed message again (parking it if it was parked)."""
        if message.parked:
            self._park(message, group_id)
            return self._park_seconds
        return redelivery_delay(failures, _REDELIVERY_BASE_SECONDS, _REDELIVERY_MAX_SECONDS)

    def _park(self, message: BusMessage, group_id: str) -> None:
        """Hold the partition at a parked message; the alarm goes off once per message."""
        key = (message.topic, group_id, message.partition)
        if self._parked.get(key) != message.offset:
            self._parked[key] = message.offset
            report_parked(message, group_id=group_id, pause_seconds=self._park_seconds)

    def _unpark(self, topic: str, group_id: str, partition: int) -> None:
        if self._parked.pop((topic, group_id, partition), None) is not None:
            _log.warning("partition resumed", topic=topic, group_id=group_id, partition=partition)


def _key(item: tuple[int, Record]) -> bytes | None:
    return item[1].key
