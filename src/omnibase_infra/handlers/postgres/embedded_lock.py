"""Ownership of an embedded PostgreSQL data directory: one live process at a time.

``<base_dir>/owner.lock`` is held with ``flock`` (exclusive, non-blocking) by the process that
runs the directory's server, and names that process (PID, start time, command). The kernel
releases the lock when its owner dies, even by SIGKILL, so:

- a start on a directory whose lock is held fails at once with ``DataDirInUseError`` naming the
  directory, the owner and the fix (``postgres.data_dir``); it never touches the owner's server;
- a start that gets the lock knows the previous owner is dead: a server still running on the
  directory is an orphan and may be stopped. The PID and start time are checked as well, so a
  lock file that was deleted and recreated under a live owner does not make its server an
  orphan.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from pydantic import ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.postgres.model_data_dir_owner import ModelDataDirOwner

__all__ = ["LOCK_FILE_NAME", "DataDirInUseError", "DataDirLock", "read_owner"]

LOCK_FILE_NAME = "owner.lock"
_MAX_RECORD_BYTES = 4096
_FIX = (
    "give this runtime a directory of its own: postgres.data_dir in the config file, or "
    "ONEX_POSTGRES__DATA_DIR=/path/to/dir"
)


class DataDirInUseError(ProtocolConfigurationError):
    """Another live process owns the embedded PostgreSQL data directory."""

    def __init__(self, base_dir: Path, owner: ModelDataDirOwner | None) -> None:
        who = owner.describe() if owner is not None else "a process that left no record"
        super().__init__(
            f"{base_dir} is in use by another process ({who}); {_FIX}",
            field="postgres.data_dir",
            data_dir=str(base_dir),
            owner_pid=owner.pid if owner is not None else None,
        )
        self.base_dir = base_dir
        self.owner = owner


def read_owner(base_dir: Path) -> ModelDataDirOwner | None:
    """The owner recorded in ``base_dir``'s lock file (alive or not), or None."""
    try:
        raw = (base_dir / LOCK_FILE_NAME).read_bytes()[:_MAX_RECORD_BYTES]
    except OSError:
        return None
    return _parse(raw)


def _parse(raw: bytes) -> ModelDataDirOwner | None:
    if not raw.strip():
        return None
    try:
        return ModelDataDirOwner.model_validate_json(raw)
    except ValidationError:
        return None  # torn or foreign content: no owner can be named


class DataDirLock:
    """The lock of one data directory; ``acquire`` raises ``DataDirInUseError`` when owned."""

    def __init__(self, base_dir: Path) -> None:
        self._base_dir = base_dir
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """The lock file."""
        return self._base_dir / LOCK_FILE_NAME

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and record this process as the owner (blocking file I/O: a thread)."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DataDirInUseError(
                    self._base_dir, _parse(os.pread(fd, _MAX_RECORD_BYTES, 0))
                ) from None
            previous = _parse(os.pread(fd, _MAX_RECORD_BYTES, 0))
            me = ModelDataDirOwner.current()
            if previous is not None and previous.pid != me.pid and previous.is_alive():
                # We got the lock, yet its recorded owner lives: the file was replaced under
                # it (or locks do not work on this file system). Its server is not an orphan.
                raise DataDirInUseError(self._base_dir, previous)
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.model_dump_json().encode(), 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)  # closing releases the lock if we took it
            raise
        self._fd = fd

    def release(self) -> None:
        """Clear the record and drop the lock; safe to call when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # before unlocking: a new owner's record is never truncated
        os.close(fd)
