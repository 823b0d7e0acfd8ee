"""A server process started by a test: started in its own session, awaited, stopped by PID.

Shared by the real-server launchers (``openbao``, ``valkey``, ``oidc``...).
Output goes to a log file in the server's work directory, whose tail (sanitised) explains a
server that exits or never becomes ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from omnibase_infra.sanitize import sanitize_text

__all__ = ["ManagedProcess", "ServerStartError"]

_POLL_SECONDS = 0.05


class ServerStartError(RuntimeError):
    """A test server exited early or did not become ready in time (message ends with its log)."""


class ManagedProcess:
    """One child process, signalled only by its own PID."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The child's PID (the process must have been started)."""
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._popen.pid

    @property
    def running(self) -> bool:
        """Whether the child is alive."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Spawn the child in a new session (so a signal to our group never reaches it)."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._popen = subprocess.Popen(  # noqa: S603 - argv is built by our launchers
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )

    def wait_ready(self, probe: Callable[[], bool], timeout_seconds: float) -> None:
        """Poll ``probe`` until it returns True; raise ``ServerStartError`` on exit or timeout."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            if not self.running:
                raise ServerStartError(f"{self.name} exited during start-up\n{self.log_tail()}")
            try:
                if probe():
                    return
            except Exception:  # noqa: S110 - not ready yet; keep polling until the deadline
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"{self.name} not ready after {timeout_seconds} s\n{self.log_tail()}"
                )
            time.sleep(_POLL_SECONDS)

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """SIGTERM the child (resuming it if paused), then SIGKILL it if it lingers."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
        try:
            popen.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            popen.wait(timeout=timeout_seconds)

    def pause(self) -> None:
        """SIGSTOP the child: it keeps its sockets but answers nothing (a real hang)."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused child."""
        self._signal(signal.SIGCONT)

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of the child's output, sanitised."""
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return sanitize_text(text[-max_chars:])

    def _signal(self, signum: signal.Signals) -> None:
        popen = self._popen
        if popen is not None and popen.poll() is None:
            os.kill(popen.pid, signum)
