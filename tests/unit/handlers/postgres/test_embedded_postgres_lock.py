"""The ownership lock of an embedded PostgreSQL data directory (no server involved)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from omnibase_infra.handlers.postgres.embedded_lock import (
    LOCK_FILE_NAME,
    DataDirInUseError,
    DataDirLock,
    read_owner,
)
from omnibase_infra.handlers.postgres.model_data_dir_owner import ModelDataDirOwner


def test_acquire_records_this_process_as_owner(tmp_path: Path) -> None:
    """The lock file names this process by PID and start time while the lock is held."""
    lock = DataDirLock(tmp_path)
    lock.acquire()
    try:
        owner = read_owner(tmp_path)
        assert owner is not None
        assert owner.pid == os.getpid()
        assert owner.started_at == pytest.approx(psutil.Process().create_time())
        assert owner.is_alive()
    finally:
        lock.release()
    assert read_owner(tmp_path) is None  # released: no owner is named any more


def test_second_lock_on_an_owned_directory_fails_naming_owner_and_fix(tmp_path: Path) -> None:
    """A second lock fails at once; the error names the directory, the owner PID and the fix."""
    first = DataDirLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(DataDirInUseError) as caught:
            DataDirLock(tmp_path).acquire()
    finally:
        first.release()
    message = str(caught.value)
    assert str(tmp_path) in message
    assert f"PID {os.getpid()}" in message
    assert "postgres.data_dir" in message
    assert caught.value.owner is not None
    assert caught.value.owner.pid == os.getpid()
    again = DataDirLock(tmp_path)
    again.acquire()  # free again once released
    again.release()


def test_lock_held_by_another_process_is_refused_until_it_dies(tmp_path: Path) -> None:
    """A lock held by another live process is refused; once that process is killed (-9),
    the lock is free and the dead owner's record does not block."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from omnibase_infra.handlers.postgres.embedded_lock import DataDirLock\n"
        "DataDirLock(Path(sys.argv[1])).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(DataDirInUseError, match=f"PID {holder.pid}"):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    dead = read_owner(tmp_path)
    assert dead is not None
    assert dead.pid == holder.pid
    assert not dead.is_alive()
    lock = DataDirLock(tmp_path)
    lock.acquire()
    lock.release()


def test_live_owner_in_a_recreated_lock_file_is_not_overridden(tmp_path: Path) -> None:
    """A free lock whose record names another live process (the file was replaced under it)
    is refused: that process's server is not an orphan."""
    parent = psutil.Process(os.getppid())
    record = ModelDataDirOwner(pid=parent.pid, started_at=parent.create_time(), command="x")
    (tmp_path / LOCK_FILE_NAME).write_text(record.model_dump_json())
    with pytest.raises(DataDirInUseError, match=f"PID {parent.pid}"):
        DataDirLock(tmp_path).acquire()


def test_reused_pid_is_not_a_live_owner() -> None:
    """A record whose PID now belongs to a process started at another time names no live
    owner."""
    me = psutil.Process()
    assert not ModelDataDirOwner(pid=me.pid, started_at=me.create_time() - 3600).is_alive()


def test_garbage_in_the_lock_file_names_no_owner(tmp_path: Path) -> None:
    """A torn or foreign lock file is read as no owner, and the lock can be taken."""
    (tmp_path / LOCK_FILE_NAME).write_bytes(b"\x00{not json")
    assert read_owner(tmp_path) is None
    lock = DataDirLock(tmp_path)
    lock.acquire()
    lock.release()
