"""freeze_boot_heap: what boot built leaves the collector's generations; young GCs come rarer."""

from __future__ import annotations

import subprocess
import sys

# Run in a child: freezing and thresholds are process-wide and would outlive the test.
_CHILD = """
import gc
from omnibase_infra.runtime.heap import freeze_boot_heap

class Booted:  # a container object made before the freeze, as boot's are
    pass

booted = Booted()
frozen = freeze_boot_heap()
after = Booted()
scanned = gc.get_objects()
print(frozen > 0, gc.get_freeze_count() == frozen)
print(any(o is booted for o in scanned), any(o is after for o in scanned))
print(gc.get_threshold()[0])
"""


def test_boot_objects_are_frozen_and_later_ones_still_collected() -> None:
    """An object made before the call is no longer scanned, one made after is; gen0 >= 10k."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=120
    )
    counted, unscanned, threshold = result.stdout.split("\n")[:3]
    assert counted == "True True"
    assert unscanned == "False True"  # booted: frozen (not scanned); after: scanned
    assert int(threshold) >= 10_000
