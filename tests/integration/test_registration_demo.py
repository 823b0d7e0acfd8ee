"""``onex-infra demo``: the zero-configuration runtime registering a simulated fleet.

Run as a user runs it, in a subprocess: it starts its own embedded PostgreSQL in a temporary
directory, registers the fleet, crashes some nodes, shuts some down, sends garbage and an
invalid introspection, and exits 0 only when every node ended where it should.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_with_twenty_nodes_exits_zero_with_every_node_where_it_should_be() -> None:
    """`onex-infra demo --nodes 20` exits 0: 15 active, 3 expired, 2 deregistered, the garbage
    dead-lettered and the invalid introspection rejected."""
    script = Path(sys.executable).parent / "onex-infra"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("ONEX_CONFIG", None)
    result = subprocess.run(
        [str(script), "demo", "--nodes", "20"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "every node ended where it should" in out
    assert "15 active" in out
    assert "3 expired" in out
    assert "2 deregistered" in out
    assert "garbage message dead-lettered: 1" in out
    assert "invalid introspections rejected: 1" in out
    assert "problem:" not in out
