"""``onex-infra run`` as a child process for tests: its JSON log, its hub, its PostgreSQL.

``RuntimeProcess.spawn`` starts the CLI on a hub port chosen beforehand (so ``/health`` and
``/ready`` can be polled from the first moment), reads its log lines as they come, and is
killed by PID if a test leaves it running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import yaml

from omnibase_infra.testing import free_port

CLI = str(Path(sys.executable).parent / "onex-infra")
NODES_ROOT = Path(__file__).parent  # holds the runtime_testnodes package


@dataclass
class ModelProbe:
    """What one poll of the hub answered (None: no answer), and when (monotonic)."""

    at: float
    health: int | None
    ready: int | None
    ready_body: dict[str, object] | None


@dataclass
class RuntimeProcess:
    """An ``onex-infra run`` child process, its log lines so far and what its hub answered."""

    process: asyncio.subprocess.Process
    port: int
    out: Path
    lines: list[dict[str, object]] = field(default_factory=list)
    probes: list[ModelProbe] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def events(self, name: str) -> list[dict[str, object]]:
        """The log lines whose event is ``name``."""
        return [line for line in self.lines if line.get("event") == name]

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send ``signum`` to the runtime (by its PID)."""
        os.kill(self.process.pid, signum)

    async def exit_code(self, within: float = 60.0) -> int:
        """Wait for the process to exit (bounded) and for its log to be read to the end."""
        async with asyncio.timeout(within):
            code = await self.process.wait()
            if self.reader is not None:
                await self.reader
        return code

    async def probe(self, client: httpx.AsyncClient) -> ModelProbe:
        """Ask ``/health`` and ``/ready`` once; record and return the answers."""
        health = ready = None
        body: dict[str, object] | None = None
        with contextlib.suppress(httpx.TransportError):
            health = (await client.get("/health")).status_code
        with contextlib.suppress(httpx.TransportError):
            reply = await client.get("/ready")
            ready, body = reply.status_code, reply.json()
        probe = ModelProbe(time.monotonic(), health, ready, body)
        self.probes.append(probe)
        return probe

    async def until_ready(self, within: float = 90.0) -> None:
        """Poll the hub from now until ``/ready`` answers 200 (fails if the process exits)."""
        await self.until(lambda probe: probe.ready == 200, "/ready 200", within)

    async def until(
        self, done: Callable[[ModelProbe], bool], what: str, within: float = 90.0
    ) -> ModelProbe:
        """Poll the hub until ``done(probe)``; fails naming ``what`` if the process exits first."""
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}", timeout=10.0
        ) as client:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise AssertionError(
                        f"runtime exited {self.process.returncode} before {what}: {self.lines}"
                    )
                probe = await self.probe(client)
                if done(probe):
                    return probe
                await asyncio.sleep(0.01)
        raise AssertionError(f"still waiting for {what} after {within} s: {self.lines[-5:]}")

    async def until_logged(self, event: str, within: float = 90.0) -> dict[str, object]:
        """Wait until the log has a line whose event is ``event``; returns the first one."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.events(event)
            if found:
                return found[0]
            if self.process.returncode is not None and self.reader is not None:
                await self.reader
                found = self.events(event)
                if found:
                    return found[0]
                raise AssertionError(f"runtime exited before logging {event!r}: {self.lines}")
            await asyncio.sleep(0.02)
        raise AssertionError(f"{event!r} not logged within {within} s: {self.lines[-5:]}")


def write_config(path: Path, values: dict[str, object]) -> Path:
    """Write a runtime config YAML; returns its path."""
    path.write_text(yaml.safe_dump(values))
    return path


def runtime_env(out: Path, **extra: str) -> dict[str, str]:
    """The child's environment: the test nodes importable, files under ``out``."""
    return {
        **os.environ,
        "PYTHONPATH": str(NODES_ROOT),
        "RTEST_OUT": str(out),
        "HOME": str(out),
        "COLUMNS": "500",
        "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
        "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
        **extra,
    }


async def _read_log(runtime: RuntimeProcess) -> None:
    stream = runtime.process.stderr
    assert stream is not None
    while line := await stream.readline():
        try:
            record = json.loads(line)
        except ValueError:
            record = {"event": "<text>", "text": line.decode(errors="replace")}
        runtime.lines.append(record)


@contextlib.asynccontextmanager
async def spawned(config: Path, out: Path, **env: str) -> AsyncIterator[RuntimeProcess]:
    """``onex-infra run --config config`` on a free hub port; killed (by PID) if left running."""
    os.makedirs(out, exist_ok=True)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        CLI,
        "run",
        "--config",
        str(config),
        "--http-port",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=runtime_env(out, **env),
    )
    runtime = RuntimeProcess(process, port, out)
    runtime.reader = asyncio.create_task(_read_log(runtime))
    try:
        yield runtime
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runtime.reader


def postgres_serving(data_dir: Path) -> list[int]:
    """PIDs of live PostgreSQL processes whose command line names ``data_dir``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if not cmdline or "postgres" not in cmdline[0]:
            continue
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(str(data_dir) in part for part in cmdline):
            found.append(process.pid)
    return found
