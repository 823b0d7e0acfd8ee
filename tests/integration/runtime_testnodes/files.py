"""Line files under ``$RTEST_OUT`` shared by the drain nodes and the tests that read them."""

import asyncio
import os
from pathlib import Path

PUBLISHED_FILE = "published.txt"
HANDLED_FILE = "handled.txt"


def out_dir() -> Path:
    """The directory named by ``$RTEST_OUT`` (the test sets it for the runtime process)."""
    return Path(os.environ["RTEST_OUT"])


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write("".join(f"{line}\n" for line in lines))


async def append_lines(name: str, lines: list[str]) -> None:
    """Append ``lines`` to ``$RTEST_OUT/<name>`` off the event loop."""
    await asyncio.to_thread(_append, out_dir() / name, lines)


def read_lines(directory: Path, name: str) -> list[str]:
    """The lines of ``directory/name`` so far (none when it does not exist yet)."""
    path = directory / name
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
