"""Waiting for a freshly spawned embedded PostgreSQL to answer, or reading why it exited."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from omnibase_infra.handlers.postgres.embedded_process import HOST
from omnibase_infra.sanitize import sanitize_text

__all__ = ["PasswordRejectedError", "ReadyDeadlineError", "read_log_tail", "wait_ready"]

POSTGRES_SUPERUSER = "postgres"
_READY_POLL_SECONDS = 0.02


class PasswordRejectedError(Exception):
    """Our own server, alive, rejects the password in the cluster's password file."""


class ReadyDeadlineError(Exception):
    """The server neither answered nor exited before the deadline."""


async def wait_ready(
    process: subprocess.Popen[bytes],
    *,
    port: int,
    password: SecretStr,
    data_dir: Path,
    log_path: Path,
    log_offset: int,
    deadline: float,
) -> str | None:
    """None once the server on ``port`` answers from ``data_dir``; its new log lines if it exited.

    Raises ``PasswordRejectedError`` or ``ReadyDeadlineError``; the caller stops the process.
    """
    # Short first: a process that took our port may accept and never answer, and our own
    # server's exit (failed bind) is only noticed between attempts.
    attempt_timeout = 0.25
    while True:
        if process.poll() is not None:
            return read_log_tail(log_path, log_offset)
        try:
            answered_from = await _probe(
                port, password, min(attempt_timeout, deadline - time.monotonic())
            )
        except asyncpg.InvalidAuthorizationSpecificationError as e:
            # Another server on our port would reject the password too: is ours alive?
            await asyncio.sleep(0.5)
            if process.poll() is not None:
                return read_log_tail(log_path, log_offset)
            raise PasswordRejectedError from e
        except TimeoutError:
            attempt_timeout = min(attempt_timeout * 2, 2.0)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # not listening yet, or still starting up
        else:
            # Another server answering on this port means ours is about to fail its bind.
            if Path(answered_from) == data_dir and process.poll() is None:
                return None
        if time.monotonic() > deadline:
            raise ReadyDeadlineError
        await asyncio.sleep(_READY_POLL_SECONDS)


async def _probe(port: int, password: SecretStr, connect_seconds: float) -> str:
    """One login and query round trip; returns the answering server's data directory."""
    connection = await asyncpg.connect(
        host=HOST,
        port=port,
        user=POSTGRES_SUPERUSER,
        password=password.get_secret_value(),
        database="postgres",
        ssl=False,
        timeout=max(0.05, connect_seconds),
    )
    try:
        return str(await connection.fetchval("SELECT current_setting('data_directory')"))
    finally:
        await connection.close()


def read_log_tail(log_path: Path, offset: int) -> str:
    """The last 20 lines the server logged after ``offset``, sanitised ("" if unreadable)."""
    try:
        with log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    return sanitize_text("\n".join(text.splitlines()[-20:]))
