"""Serves an ASGI app with uvicorn inside the runtime's event loop, signals left to the host."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, ModelInfraErrorContext

__all__ = ["HubServer"]


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runtime host owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HubServer:
    """Binds first (so the port is known and a clash fails fast), then serves in a task."""

    def __init__(
        self,
        app: FastAPI,
        host: str = "127.0.0.1",
        port: int = 8085,
        *,
        name: str = "hub",
        setting: str = "http.port",
        proxy_headers: bool = True,
    ) -> None:
        """``name`` and ``setting`` (the config field of the port) are for a failed bind;
        ``proxy_headers``: trust ``X-Forwarded-For`` from loopback peers (uvicorn's default)."""
        self._proxy_headers = proxy_headers
        self._app = app
        self._name = name
        self._setting = setting
        self._host = host
        self._port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = port

    @property
    def app(self) -> FastAPI:
        """The app served (routers may be mounted while it serves)."""
        return self._app

    async def start(self) -> int:
        """Start serving; returns the bound port (useful when configured with 0)."""
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise InfraConnectionError(
                f"cannot bind the {self._name} to {self._host}:{self._port}: {exc.strerror} "
                f"(setting {self._setting}: another port, or 0 for any free one)",
                context=ModelInfraErrorContext(
                    transport_type=EnumInfraTransportType.HTTP,
                    operation="bind",
                    target_name=f"{self._host}:{self._port}",
                ),
                retriable=False,
            ) from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            http="httptools",  # the C parser (h11 is pure Python): a dependency, not a guess
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=self._proxy_headers,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(
            self._server.serve(sockets=[sock]), name=f"{self._name}-http"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup failure
            await asyncio.sleep(0.005)
        return self.port

    async def stop(self) -> None:
        """Stop accepting connections and finish open requests."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = None
