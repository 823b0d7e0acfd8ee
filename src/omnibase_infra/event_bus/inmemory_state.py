"""The in-memory bus's state: retained records, partitions, consumer groups, wake-ups."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque

from omnibase_infra.event_bus.message import MessageCallback

__all__ = ["Bounds", "Group", "Member", "Partition", "Record", "Signal", "Topic"]


class Record:
    """One retained message of a partition (shared by all groups; each delivery gets a copy of
    its headers, made only when the subscriber reads them: ``headers()`` is a header source)."""

    __slots__ = ("end_bytes", "header_map", "key", "size", "timestamp", "value")

    def __init__(self, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        self.key = key
        self.value = value
        self.header_map = headers
        self.timestamp = time.time()
        # What the message counts for against the byte bounds: key, value and headers.
        size = len(value) + (len(key) if key is not None else 0)
        for name, text in headers.items():
            size += len(name) + len(text)
        self.size = size
        self.end_bytes = 0  # the partition's byte count up to and including this record

    def headers(self) -> dict[str, str]:
        """The record's headers, as a ``HeaderSource`` of ``BusMessage`` (read, never copied)."""
        return self.header_map


class Signal:
    """A reusable wake-up: many waiters, woken all at once by ``fire``.

    Each waiter awaits a future of its own, so cancelling one waiter (a consumer leaving)
    never disturbs the others, without the extra future and callback ``asyncio.shield`` adds
    to every wake-up (this is on the path of every delivered message).
    """

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        # Read by the hot paths to skip ``fire`` when nobody waits (the common case).
        self.waiters: list[asyncio.Future[None]] = []

    async def wait(self) -> None:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        finally:
            if not future.done():
                self.waiters.remove(future)

    def fire(self) -> None:
        if not self.waiters:  # the common case on the hot path: nobody waits
            return
        waiters, self.waiters = self.waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)


class Bounds:
    """The bus's memory bounds, shared by its partitions (see ``EventBusInmemory``)."""

    __slots__ = ("capacity", "capacity_bytes", "retention", "retention_bytes")

    def __init__(
        self, capacity: int, capacity_bytes: int, retention: int, retention_bytes: int
    ) -> None:
        self.capacity = capacity  # undelivered messages a group may lag behind
        self.capacity_bytes = capacity_bytes  # undelivered bytes a group may lag behind
        self.retention = retention  # consumed messages kept
        self.retention_bytes = retention_bytes  # consumed bytes kept


class Partition:
    """A partition's retained log, with its offsets and byte counts kept as running totals.

    Each record notes the partition's byte total up to and including itself, so the bytes
    between any retained offset and the end (a group's undelivered bytes) cost one lookup.
    """

    __slots__ = (
        "base",
        "bounds",
        "dropped_bytes",
        "end",
        "end_bytes",
        "groups",
        "index",
        "log",
        "new_data",
        "space",
    )

    def __init__(self, index: int, bounds: Bounds, groups: dict[str, Group]) -> None:
        self.index = index
        self.bounds = bounds
        self.groups = groups  # the topic's consumer groups
        self.log: deque[Record] = deque()
        self.base = 0  # offset of log[0]
        self.end = 0  # the offset the next appended message will get (base + len(log))
        self.end_bytes = 0  # bytes of every record ever appended
        self.dropped_bytes = 0  # bytes of every record dropped (trimmed) so far
        self.new_data = Signal()
        self.space = Signal()

    def offer(self, record: Record) -> bool:
        """Append ``record`` and wake the delivery tasks, unless an active group has no room for
        it (False: nothing changed); then trim the consumed history past retention.

        One call per published message, so the room check and the trim's floor (what every
        active group consumed) come from one pass over the groups.
        """
        bounds = self.bounds
        index = self.index
        end = self.end
        size = record.size
        # No group's undelivered bytes exceed what the partition retains: while that stays
        # within capacity_bytes (nearly always) no group's bytes need a look.
        bytes_tight = self.end_bytes - self.dropped_bytes + size > bounds.capacity_bytes
        floor = end + 1  # once appended; with no active group all of it counts as consumed
        for group in self.groups.values():
            if group.members:
                committed = group.committed[index]
                if committed < end and (
                    end - committed >= bounds.capacity
                    or (bytes_tight and self.bytes_from(committed) + size > bounds.capacity_bytes)
                ):
                    return False
                if committed < floor:
                    floor = committed
        end_bytes = self.end_bytes + size
        self.end_bytes = record.end_bytes = end_bytes
        log = self.log
        log.append(record)
        end = self.end = end + 1
        base = self.base
        dropped = self.dropped_bytes
        max_records = bounds.retention
        max_bytes = bounds.retention_bytes
        if end - base > max_records or end_bytes - dropped > max_bytes:
            while base < floor and (end - base > max_records or end_bytes - dropped > max_bytes):
                dropped += log.popleft().size
                base += 1
            self.base = base
            self.dropped_bytes = dropped
        if self.new_data.waiters:
            self.new_data.fire()
        return True

    def has_room(self, size: int) -> bool:
        """Whether every active group is within both bounds with ``size`` more bytes (the check
        ``offer`` makes; a group with nothing undelivered always takes one message)."""
        bounds = self.bounds
        end = self.end
        for group in self.groups.values():
            if group.members:
                committed = group.committed[self.index]
                if committed < end and (
                    end - committed >= bounds.capacity
                    or self.bytes_from(committed) + size > bounds.capacity_bytes
                ):
                    return False
        return True

    def bytes_from(self, offset: int) -> int:
        """The bytes of the retained records from ``offset`` (at least ``base``) to the end."""
        if offset >= self.end:
            return 0
        if offset <= self.base:
            return self.end_bytes - self.dropped_bytes
        record = self.log[offset - self.base]
        return self.end_bytes - record.end_bytes + record.size

    @property
    def retained_bytes(self) -> int:
        """The bytes of every retained record."""
        return self.end_bytes - self.dropped_bytes


class Member:
    __slots__ = ("callback", "delivering", "settled")

    def __init__(self, callback: MessageCallback) -> None:
        self.callback = callback
        # The tasks currently inside this member's callback (per partition, one per key at most).
        self.delivering: set[asyncio.Task[None]] = set()
        self.settled = Signal()  # fired whenever one of those callbacks returns


class Group:
    __slots__ = ("committed", "epoch", "generation", "group_id", "in_flight", "members", "tasks")

    def __init__(self, group_id: str, committed: list[int], in_flight: int) -> None:
        self.group_id = group_id
        self.committed = committed
        self.in_flight = in_flight  # messages of a partition delivered at once
        self.members: list[Member] = []  # a partition goes to members[index % len(members)]
        self.tasks: list[asyncio.Task[None]] = []
        # Bumped when the delivery tasks are replaced, so a task of an older set stops.
        self.generation = 0
        # Bumped whenever ``members`` or ``generation`` change: a delivery run that saw the
        # same epoch still has its member holding the partition (one comparison per message).
        self.epoch = 0

    def add_member(self, member: Member) -> None:
        """Add ``member`` (the group's partitions are shared anew)."""
        self.members.append(member)
        self.epoch += 1

    def remove_member(self, member: Member) -> None:
        """Remove ``member`` (the group's partitions are shared anew)."""
        self.members.remove(member)
        self.epoch += 1


class Topic:
    __slots__ = ("groups", "name", "partitions", "round_robin")

    def __init__(self, name: str, partitions: int, bounds: Bounds) -> None:
        self.name = name
        self.groups: dict[str, Group] = {}
        self.partitions = [Partition(index, bounds, self.groups) for index in range(partitions)]
        self.round_robin = itertools.cycle(range(partitions))
