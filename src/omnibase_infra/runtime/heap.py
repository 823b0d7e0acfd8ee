"""Keeping the garbage collector off what the runtime built to boot.

Booting imports core, builds pydantic schemas and wires the container: some 200k objects that
live as long as the process. Python's cyclic collector walks all of them on every full
collection, and full collections come more often as live registrations accumulate; on the
registration benchmark they took 8-25% of the runtime's CPU. ``gc.freeze`` moves every object
alive at that moment into a generation the collector never scans, so it only walks what was
created since. Objects frozen this way are still freed by reference counting; only a cycle
among them would be kept. The young generations are collected first (a few milliseconds) for
the cycles boot just made; a full collection would cost some 80 ms to find a few dozen objects.

The youngest generation is then collected every 10,000 net allocations instead of 700: each
young collection walks the objects of the messages in flight, nearly all of which reference
counting frees anyway, and at 700 those walks were another 4-5% of the benchmark's CPU. What a
collection can free is only garbage in cycles, so the cost is at most that many objects more
held for a while.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_boot_heap"]

_YOUNG_THRESHOLD = 10_000


def freeze_boot_heap() -> int:
    """Exempt what boot built from future collections; collect the young generation less often.

    Call once the process has booted (``RuntimeHostProcess.serve`` does). Returns how many
    objects were frozen.
    """
    gc.collect(1)
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, _YOUNG_THRESHOLD), middle, old)
    return gc.get_freeze_count()
