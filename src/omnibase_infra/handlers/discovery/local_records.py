"""The records of ``DiscoveryLocalCatalog``: checks, services, deadlines, and their snapshots."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)

__all__ = [
    "CatalogCheckView",
    "CatalogServiceView",
    "CheckRecord",
    "DeadlineHeap",
    "EnumTimerKind",
    "EnumTtlUpdate",
    "ServiceRecord",
    "service_view",
]


class EnumTtlUpdate(StrEnum):
    """What a TTL status update found."""

    UPDATED = "updated"
    UNKNOWN = "unknown"
    NOT_TTL = "not-ttl"


class EnumTimerKind(StrEnum):
    """What happens at a deadline: a TTL expires, or a critical service is reaped."""

    TTL = "ttl"
    REAP = "reap"


@dataclass(frozen=True, slots=True)
class CatalogCheckView:
    """A snapshot of one check."""

    check_id: str
    name: str
    service_id: str
    service_name: str
    service_tags: tuple[str, ...]
    kind: str
    status: EnumCheckStatus
    output: str
    notes: str
    create_index: int
    modify_index: int


@dataclass(frozen=True, slots=True)
class CatalogServiceView:
    """A snapshot of one service instance and its checks."""

    registration: ModelServiceRegistration
    create_index: int
    modify_index: int
    checks: tuple[CatalogCheckView, ...]

    @property
    def passing(self) -> bool:
        """Whether every check of the instance is passing (no checks: passing)."""
        return all(check.status is EnumCheckStatus.PASSING for check in self.checks)


@dataclass(slots=True)
class CheckRecord:
    """A check's live state (its timers are valid while their generation matches)."""

    check_id: str
    name: str
    service_id: str
    spec: ModelDiscoveryCheck
    status: EnumCheckStatus
    output: str
    create_index: int
    modify_index: int
    ttl_generation: int = 0
    reap_generation: int = 0
    poller: asyncio.Task[None] | None = None


@dataclass(slots=True)
class ServiceRecord:
    """A registered instance and the ids of its checks."""

    registration: ModelServiceRegistration
    create_index: int
    modify_index: int
    check_ids: tuple[str, ...]


@dataclass(slots=True)
class DeadlineHeap:
    """Deadlines on the clock, in a heap; an entry is stale once its generation moved on."""

    heap: list[tuple[float, int, EnumTimerKind, str, int]] = field(default_factory=list)
    sequence: itertools.count[int] = field(default_factory=itertools.count)

    def push(self, deadline: float, kind: EnumTimerKind, check_id: str, generation: int) -> None:
        """Schedule ``kind`` for ``check_id`` at ``deadline`` (valid while ``generation`` is)."""
        heapq.heappush(self.heap, (deadline, next(self.sequence), kind, check_id, generation))

    def compact(self, live: Callable[[EnumTimerKind, str, int], bool], floor: int) -> None:
        """Drop the entries ``live`` says are stale once there are over ``floor`` of them.

        Every TTL pass re-arms its check and a removed check leaves its timers behind: without
        this the heap would keep one entry per pass until the old deadlines come round.
        Rebuilding only past twice the live size keeps the cost per push constant.
        """
        if len(self.heap) <= floor:
            return
        # In place: ``refresh`` may be popping from this very list when a push compacts it.
        self.heap[:] = [entry for entry in self.heap if live(entry[2], entry[3], entry[4])]
        heapq.heapify(self.heap)


def service_view(service: ServiceRecord, checks: Mapping[str, CheckRecord]) -> CatalogServiceView:
    """A snapshot of ``service`` and its checks (looked up in ``checks``)."""
    registration = service.registration
    views = tuple(
        CatalogCheckView(
            check_id=check.check_id,
            name=check.name,
            service_id=registration.service_id,
            service_name=registration.name,
            service_tags=registration.tags,
            kind="ttl" if check.spec.is_ttl else "http",
            status=check.status,
            output=check.output,
            notes=check.spec.notes or "",
            create_index=check.create_index,
            modify_index=check.modify_index,
        )
        for check in (checks[cid] for cid in service.check_ids if cid in checks)
    )
    return CatalogServiceView(
        registration=registration,
        create_index=service.create_index,
        modify_index=service.modify_index,
        checks=views,
    )
