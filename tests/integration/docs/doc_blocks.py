"""The shell blocks of the documentation pages that the docs tests run.

Every fenced ```` ```bash ```` block of a page is a command an operator or a new user types, and
runs. A block that cannot run here is marked in the page itself, on the line just above it::

    > **Not run by the docs test:** the reason, shown to the reader

and is skipped with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCS", "SKIP_MARKER", "DocBlock", "bash_blocks"]

DOCS = Path(__file__).parents[3] / "docs"
SKIP_MARKER = "> **Not run by the docs test:**"
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class DocBlock:
    """One ```bash block: where it is, its text, and why it is skipped (None: it runs)."""

    page: str
    line: int
    text: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        """``page:line``, the block's id in test output."""
        return f"{self.page}:{self.line}"


def bash_blocks(page: Path) -> list[DocBlock]:
    """The ```bash blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[DocBlock] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None or opened.group(1) == "":
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if opened.group(1) == "bash":
            blocks.append(
                DocBlock(
                    page=str(page.relative_to(DOCS)),
                    line=index + 1,
                    text="\n".join(lines[index + 1 : end]) + "\n",
                    skip_reason=_skip_reason(lines, index),
                )
            )
        index = end + 1
    return blocks


def _skip_reason(lines: list[str], fence: int) -> str | None:
    """The reason on the marker line just above the fence (blank lines allowed), else None."""
    above = fence - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and lines[above].startswith(SKIP_MARKER):
        return lines[above].removeprefix(SKIP_MARKER).strip()
    return None
