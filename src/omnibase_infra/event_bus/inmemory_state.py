"""The in-memory bus's state: retained records, partitions, consumer groups, wake-ups."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque

from omnibase_infra.event_bus.message import MessageCallback

__all__ = ["Group", "Member", "Partition", "Record", "Signal", "Topic"]


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


class Partition:
    """A partition's retained log, with its offsets and byte counts kept as running totals.

    Each record notes the partition's byte total up to and including itself, so the bytes
    between any retained offset and the end (a group's undelivered bytes) cost one lookup.
    """

    __slots__ = ("base", "dropped_bytes", "end", "end_bytes", "log", "new_data", "space")

    def __init__(self) -> None:
        self.log: deque[Record] = deque()
        self.base = 0  # offset of log[0]
        self.end = 0  # the offset the next appended message will get (base + len(log))
        self.end_bytes = 0  # bytes of every record ever appended
        self.dropped_bytes = 0  # bytes of every record dropped (trimmed) so far
        self.new_data = Signal()
        self.space = Signal()

    def append(self, record: Record, floor: int, max_records: int, max_bytes: int) -> None:
        """Add ``record`` at the end, then drop the oldest records before ``floor`` while more
        than ``max_records`` records or ``max_bytes`` bytes are retained.

        One call per published message: past retention, each append trims about one record.
        """
        end_bytes = self.end_bytes + record.size
        self.end_bytes = record.end_bytes = end_bytes
        log = self.log
        log.append(record)
        end = self.end = self.end + 1
        base = self.base
        dropped = self.dropped_bytes
        if end - base <= max_records and end_bytes - dropped <= max_bytes:
            return
        while base < floor and (end - base > max_records or end_bytes - dropped > max_bytes):
            dropped += log.popleft().size
            base += 1
        self.base = base
        self.dropped_bytes = dropped

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
    __slots__ = ("committed", "generation", "group_id", "in_flight", "members", "tasks")

    def __init__(self, group_id: str, committed: list[int], in_flight: int) -> None:
        self.group_id = group_id
        self.committed = committed
        self.in_flight = in_flight  # messages of a partition delivered at once
        self.members: list[Member] = []  # a partition goes to members[index % len(members)]
        self.tasks: list[asyncio.Task[None]] = []
        # Bumped when the delivery tasks are replaced, so a task of an older set stops.
        self.generation = 0


class Topic:
    __slots__ = ("groups", "name", "partitions", "round_robin")

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.partitions = [Partition() for _ in range(partitions)]
        self.groups: dict[str, Group] = {}
        self.round_robin = itertools.cycle(range(partitions))
