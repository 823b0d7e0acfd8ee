"""docs/writing-a-node.md stays true: every file it shows is the one in ``examples/greeter/``,
and its commands run in order, from the repository root with a fresh HOME, against the real
runtime (``onex-infra run`` with the example's ``runtime.yaml``: embedded PostgreSQL), ending
with the greetings written and the reducer's intents counted. They run as the page's second
user on the machine would: with the ports and data directory of the page's step 7 moved by
``ONEX_HTTP__PORT``, ``ONEX_INGRESS__PORT``, ``ONEX_DASHBOARD__PORT`` and
``ONEX_POSTGRES__DATA_DIR`` (free ports, a directory in the test's HOME), so the page's advice
is what the run proves, and another run of the guide on the machine is no obstacle. The guide
installs the copied package into this venv (``pip install -e``, no ``PYTHONPATH``); the test
uninstalls it after.

The guide's target is ten minutes for a newcomer; the test prints how long the commands took
(never asserts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest
from doc_blocks import DOCS, SKIP_MARKER, bash_blocks
from test_doc_commands import _base_env, _kill_started, _run_block

PAGE = DOCS / "writing-a-node.md"
EXAMPLE = DOCS.parent / "examples" / "greeter"
# A shown file: its path (relative to the example's folder) in bold code, then its fence.
_SHOWN = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```(?:python|yaml|toml)\n(.*?)^```$", re.M | re.S)

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _shown_files() -> dict[str, str]:
    """Each file the page shows: its path in the example, and the text shown."""
    shown: dict[str, str] = {}
    for match in _SHOWN.finditer(PAGE.read_text(encoding="utf-8")):
        path, text = match.group(1), match.group(2)
        assert path not in shown, f"{path} is shown twice"
        shown[path] = text
    return shown


def _second_user(home: Path) -> dict[str, str]:
    """The variables step 7 tells a second user on the machine to set: free ports, and a data
    directory of the test's own."""
    ports: list[int] = []
    with contextlib.ExitStack() as held:  # held together, so the three differ
        for _ in range(3):
            probe = held.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    http, ingress, dashboard = (str(port) for port in ports)
    return {
        "ONEX_HTTP__PORT": http,
        "ONEX_INGRESS__PORT": ingress,
        "ONEX_DASHBOARD__PORT": dashboard,
        "ONEX_POSTGRES__DATA_DIR": str(home / "greeter-postgres"),
    }


def _stop_started(home: Path) -> None:
    """SIGTERM a runtime the guide left running (a block failed before its stop), so it stops
    its embedded PostgreSQL cleanly; SIGKILL what is left."""
    for pid_file in home.rglob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            # Only a runtime the page started: the PID may have gone to another process since.
            if b"onex-infra" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
                for _ in range(60):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.5)
    _kill_started(home)


async def _uninstall_greeter(env: dict[str, str]) -> None:
    """Take the guide's editable install of ``greeter`` (its folder about to go) out of the
    venv again."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pip",
        "uninstall",
        "--yes",
        "--quiet",
        "greeter",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await process.wait()


def _example_files() -> set[str]:
    """The example package's files a user writes (no bytecode)."""
    return {
        str(path.relative_to(EXAMPLE))
        for path in EXAMPLE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_every_example_file_is_shown_as_it_is() -> None:
    """The page shows each file of examples/greeter exactly as it is there, and no other."""
    shown = _shown_files()
    assert set(shown) == _example_files()
    for path, text in shown.items():
        assert text == (EXAMPLE / path).read_text(encoding="utf-8"), f"{path} differs"


def test_every_skip_marker_gives_a_reason() -> None:
    """A block of the guide is only skipped with a reason the reader sees."""
    for block in bash_blocks(PAGE):
        assert block.skip_reason != "", f"{block.name}: {SKIP_MARKER} without a reason"


@pytest.mark.asyncio
async def test_guide_commands_run(capsys: pytest.CaptureFixture[str]) -> None:
    """The guide's commands run in order against the real runtime and leave the greetings the
    guide says in the file its effect node writes."""
    blocks = bash_blocks(PAGE)
    assert blocks, f"{PAGE} has no bash block"
    # Outside pytest's basetemp, as the docs test's quick start: a pytest session starting
    # meanwhile resets that root to 0700.
    home = Path(tempfile.mkdtemp(prefix="onex-guide-home-"))
    env = _base_env(home) | _second_user(home)
    env.pop("PYTHONPATH", None)  # the guide installs its package instead
    took: list[tuple[str, float]] = []
    try:
        for block in blocks:
            if block.skip_reason is not None:
                continue
            started = time.monotonic()
            await _run_block(block, cwd=DOCS.parent, env=env)
            took.append((block.name, time.monotonic() - started))
        greetings = (home / "greeter" / "greetings.txt").read_text(encoding="utf-8")
    finally:
        await asyncio.to_thread(_stop_started, home)
        await _uninstall_greeter(env)
        shutil.rmtree(home, ignore_errors=True)
    assert greetings.splitlines() == ["Hello, Ada!", "Hello, Ada!", "Hello, Grace!"]
    with capsys.disabled():
        for name, seconds in took:
            print(f"\n  {name}: {seconds:.1f} s", end="")
        total = sum(seconds for _, seconds in took)
        print(f"\n  the guide's commands took {total:.1f} s in total (target: 10 minutes)")
        sys.stdout.flush()
