"""Local runtimes of one user never harm each other (real ``onex-infra`` processes).

Every process here shares one user data directory (``HOME`` and ``XDG_DATA_HOME`` point into a
directory of the test), so a zero-config ``onex-infra run`` uses the same default embedded
PostgreSQL directory as the others, as two terminals of one user would. Costs ~15-25 s: three
runtimes and a demo boot concurrently.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from omnibase_infra.handlers.postgres.embedded_lock import read_owner
from omnibase_infra.testing import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")


@dataclass
class Instance:
    """One ``onex-infra`` child process with its captured output files."""

    process: asyncio.subprocess.Process
    stdout: Path
    stderr: Path

    def output(self) -> str:
        """Everything it printed so far."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "COLUMNS": "400",  # one line per message: the assertions read whole sentences
        "ONEX_LOG_LEVEL": "INFO",
        "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
        "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
        **extra,
    }


@asynccontextmanager
async def _spawn(home: Path, name: str, *args: str, **env: str) -> AsyncIterator[Instance]:
    stdout, stderr = home / f"{name}.out", home / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            CLI,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=_env(home, **env),
        )
    instance = Instance(process, stdout, stderr)
    try:
        yield instance
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _ready(port: int, instance: Instance, within: float = 90.0) -> None:
    async with asyncio.timeout(within), httpx.AsyncClient() as client:
        while True:
            if instance.process.returncode is not None:
                raise AssertionError(f"exited {instance.process.returncode}: {instance.output()}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _status(port: int) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/ready")).status_code


def _postmaster_pid(base_dir: Path) -> int:
    return int((base_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


async def test_two_runs_and_a_demo_of_one_user_never_harm_each_other(
    postgres_base_dir: Path,
) -> None:
    """Zero-config ``run`` A owns the user's default directory; a second zero-config ``run``
    fails at once naming the directory, A's PID and the fix; a ``run`` given its own
    ``postgres.data_dir`` and a ``demo`` run beside A; A stays ready on the same server
    throughout; after A is killed with SIGKILL, the next zero-config ``run`` takes over."""
    home = postgres_base_dir / "home"
    home.mkdir()
    shared = home / "data" / "omnibase_infra" / "postgres"  # platformdirs under XDG_DATA_HOME
    port_a, port_b, port_c, port_d = (free_port() for _ in range(4))
    async with _spawn(home, "a", "run", "--http-port", str(port_a)) as a:
        await _ready(port_a, a)
        owner = read_owner(shared)
        assert owner is not None
        assert owner.pid == a.process.pid
        server_a = _postmaster_pid(shared)
        async with (
            _spawn(home, "b", "run", "--http-port", str(port_b)) as b,
            _spawn(
                home,
                "c",
                "run",
                "--http-port",
                str(port_c),
                ONEX_POSTGRES__DATA_DIR=str(postgres_base_dir / "own"),
            ) as c,
            _spawn(home, "demo", "demo", "--nodes", "8", "--crash", "1", "--shutdown", "1") as demo,
        ):
            async with asyncio.timeout(60):
                code_b = await b.process.wait()
            await _ready(port_c, c)
            async with asyncio.timeout(120):
                code_demo = await demo.process.wait()
            print(f"second run: exit {code_b}; demo: exit {code_demo}")
            print(b.output())
            assert code_b == 2
            refusal = " ".join(b.output().split())
            assert f"{shared} is in use by another process (PID {a.process.pid}" in refusal
            assert "postgres.data_dir" in refusal
            assert "ONEX_POSTGRES__DATA_DIR" in refusal
            assert code_demo == 0, demo.output()
            assert "every node ended where it should" in demo.output()
            assert await _status(port_a) == 200
            assert await _status(port_c) == 200
        assert await _status(port_a) == 200
        assert _postmaster_pid(shared) == server_a
        assert psutil.pid_exists(server_a)
        a.process.kill()  # SIGKILL: no clean-up of its own
        await a.process.wait()
    async with _spawn(home, "d", "run", "--http-port", str(port_d)) as d:
        await _ready(port_d, d)
        owner = read_owner(shared)
        assert owner is not None
        assert owner.pid == d.process.pid
        d.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            assert await d.process.wait() == 0
