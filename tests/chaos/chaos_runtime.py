"""``onex-infra run`` as a child process, as an operator runs it: a config file, the installed CLI.

``RuntimeProcess`` writes the config (YAML), starts the CLI with ``--config`` and
``--http-port``, sends its output (JSON log lines on stderr) to a file in the work directory,
and answers what a test needs: ``/ready`` (status and body), how long it took to come back,
the log lines by event, a SIGKILL (``kill``) or a SIGTERM (``stop``, with the exit code).
Signals go to the child's own PID only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import yaml
from pydantic import JsonValue

__all__ = [
    "CLI",
    "ReadyTimeoutError",
    "RuntimeProcess",
    "poll_not_ready",
    "poll_ready",
    "ready_status",
]

CLI = str(Path(sys.executable).parent / "onex-infra")
_POLL_SECONDS = 0.1


class ReadyTimeoutError(AssertionError):
    """The runtime did not answer ``/ready`` 200 in time (the message ends with its log tail)."""


async def ready_status(url: str) -> tuple[int, dict[str, JsonValue]]:
    """``GET <url>/ready``: the status (0 when nothing answered) and the JSON body."""
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
            response = await client.get(f"{url}/ready")
    except httpx.HTTPError:
        return 0, {}
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    return response.status_code, body if isinstance(body, dict) else {"body": body}


async def poll_ready(
    url: str, *, within: float = 60.0, alive: Callable[[], bool] | None = None
) -> float:
    """Poll ``<url>/ready`` until 200; the seconds it took. Fails after ``within``, or as soon
    as ``alive()`` says the process is gone."""
    started = time.monotonic()
    while True:
        if alive is not None and not alive():
            raise ReadyTimeoutError(f"{url}: the runtime exited")
        if (await ready_status(url))[0] == 200:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise ReadyTimeoutError(f"{url}: /ready not 200 within {within} s")
        await asyncio.sleep(_POLL_SECONDS)


async def poll_not_ready(url: str, *, within: float = 60.0) -> float:
    """Poll ``<url>/ready`` until it answers anything but 200 (the fault is seen); seconds."""
    started = time.monotonic()
    while (await ready_status(url))[0] == 200:
        if time.monotonic() - started > within:
            raise AssertionError(f"{url}: /ready stayed 200 for {within} s")
        await asyncio.sleep(_POLL_SECONDS)
    return time.monotonic() - started


class RuntimeProcess:
    """One ``onex-infra run`` child (see module docstring); start it again after a kill."""

    def __init__(
        self,
        config: Mapping[str, JsonValue],
        *,
        workdir: Path,
        http_port: int,
        env: Mapping[str, str] | None = None,
        name: str = "runtime",
    ) -> None:
        self.workdir = workdir
        self.http_port = http_port
        self.name = name
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        self._env = {
            **os.environ,
            "HOME": str(workdir),
            "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
            "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
            **(env or {}),
        }
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.log_paths: list[Path] = []

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the hub."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        """The running child's PID."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the child is alive."""
        return self._process is not None and self._process.returncode is None

    async def start(self, *, ready_within: float = 240.0) -> float:
        """Start the child; returns the seconds until ``/ready`` answered 200."""
        self.starts += 1
        log_path = self.workdir / f"{self.name}-{self.starts}.log"
        self.log_paths.append(log_path)
        started = time.monotonic()
        with log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                CLI,
                "run",
                "--config",
                str(self.config_path),
                "--http-port",
                str(self.http_port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self._env,
            )
        await self.wait_ready(within=ready_within)
        return time.monotonic() - started

    async def ready(self) -> tuple[int, dict[str, JsonValue]]:
        """``GET /ready``: the status (0 when nothing answered) and the JSON body."""
        return await ready_status(self.url)

    async def wait_ready(self, *, within: float = 60.0) -> float:
        """Poll ``/ready`` until 200; returns the seconds it took (bounded by ``within``)."""
        try:
            return await poll_ready(self.url, within=within, alive=lambda: self.running)
        except ReadyTimeoutError as exc:
            raise ReadyTimeoutError(f"{self.name}: {exc}\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL the child (a crash: nothing is drained, nothing committed after this)."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)

    async def kill_and_wait(self) -> None:
        """SIGKILL the child if it runs, and reap it."""
        if self._process is None:
            return
        self.kill()
        with contextlib.suppress(TimeoutError):
            await self.wait_exit(10.0)

    async def wait_exit(self, within: float = 30.0) -> int:
        """Wait for the child to exit; its exit code."""
        assert self._process is not None
        async with asyncio.timeout(within):
            return await self._process.wait()

    async def stop(self, within: float = 60.0) -> int | None:
        """SIGTERM the child and wait for it (SIGKILL if it outlives ``within``); exit code."""
        if self._process is None:
            return None
        if self.running:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return await self.wait_exit(within)
        except TimeoutError:
            self.kill()
            with contextlib.suppress(TimeoutError):
                await self.wait_exit(10.0)
            return None

    def lines(self) -> list[dict[str, JsonValue]]:
        """Every log line written so far, over every start (a line that is not JSON is kept
        as ``{"event": "<text>", "text": ...}``)."""
        found: list[dict[str, JsonValue]] = []
        for path in self.log_paths:
            if not path.exists():
                continue
            for raw in path.read_text(errors="replace").splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    line = {"event": "<text>", "text": raw}
                found.append(line if isinstance(line, dict) else {"event": "<text>", "text": raw})
        return found

    def mark(self) -> int:
        """The number of log lines so far: pass it as ``since`` to look only at later ones."""
        return len(self.lines())

    def events(self, event: str, *, since: int = 0) -> list[dict[str, JsonValue]]:
        """The log lines (after ``since``) whose event is ``event``."""
        return [line for line in self.lines()[since:] if line.get("event") == event]

    def event_counts(
        self, *, at_least: str = "warning", since: int = 0
    ) -> Counter[tuple[str, str]]:
        """How many lines (after ``since``) per (level, event), for levels from ``at_least`` up."""
        order = ["debug", "info", "warning", "error", "critical"]
        floor = order.index(at_least)
        counts: Counter[tuple[str, str]] = Counter()
        for line in self.lines()[since:]:
            level = str(line.get("level", "info"))
            if level in order and order.index(level) >= floor:
                counts[(level, str(line.get("event")))] += 1
        return counts

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the current start's output."""
        if not self.log_paths or not self.log_paths[-1].exists():
            return "(no output)"
        return "\n".join(self.log_paths[-1].read_text(errors="replace").splitlines()[-lines:])
