"""Who owns an embedded PostgreSQL data directory: a process, named by PID and start time."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import psutil
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelDataDirOwner"]

_COMMAND_CHARS = 120


class ModelDataDirOwner(BaseModel):
    """The process holding a data directory's lock, as written in its ``owner.lock``.

    The start time tells a live owner from a later process that reuses its PID.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pid: int = Field(gt=0)
    started_at: float = Field(description="the process's start time (Unix seconds)")
    command: str = Field(default="", max_length=_COMMAND_CHARS)

    @classmethod
    def current(cls) -> ModelDataDirOwner:
        """This process."""
        process = psutil.Process()
        try:
            argv = process.cmdline()
        except psutil.Error:
            argv = []
        if len(argv) > 1 and os.path.basename(argv[0]).startswith("python"):
            argv = argv[1:]  # the script says more than its interpreter
        if argv:
            argv[0] = os.path.basename(argv[0])
        command = " ".join(argv)
        if len(command) > _COMMAND_CHARS:
            command = command[: _COMMAND_CHARS - 3] + "..."
        return cls(pid=process.pid, started_at=process.create_time(), command=command)

    def is_alive(self) -> bool:
        """Whether this process still runs (the same process: PID and start time match)."""
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            # create_time has a resolution of a clock tick; a reused PID starts much later.
            return abs(process.create_time() - self.started_at) < 1.0
        except psutil.Error:
            return False

    def describe(self) -> str:
        """``PID 123, started 2026-11-23 10:00:01 UTC, onex-infra run`` for messages."""
        started = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        program = f", {self.command}" if self.command else ""
        return f"PID {self.pid}, started {started}{program}"
