"""Serve an ASGI app with uvicorn on a free 127.0.0.1 port, in a thread with its own loop.

The server gets its own event loop so a test's loop (or the runtime's) cannot starve it, and so
it behaves like a separate process as far as its clients can tell; in a non-main thread uvicorn
leaves the process's signal handlers alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future

import uvicorn
from starlette.types import ASGIApp

__all__ = ["AsgiServerThread"]

_START_TIMEOUT_SECONDS = 10.0


class AsgiServerThread:
    """One uvicorn server in a daemon thread; ``start`` and ``stop`` block (call them in a
    thread from async code: ``await asyncio.to_thread(server.start)``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str = "asgi-server",
        on_stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._app = app
        self._name = name
        self._on_stop = on_stop
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (127.0.0.1)."""
        if self._socket is None:
            raise RuntimeError("the server is not started")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> None:
        """Bind ``port`` (0: a free one) and serve; returns once uvicorn listens (raises if it
        cannot)."""
        if self._thread is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Serving again on the port of a stopped server: its closed connections may linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self._socket = sock
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._server.started:
            if self._failure is not None or not self._thread.is_alive():
                raise RuntimeError(f"{self._name} did not start") from self._failure
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self._name} did not start in {_START_TIMEOUT_SECONDS} s")
            time.sleep(0.005)

    def run_coroutine[T](self, coroutine: Coroutine[object, object, T]) -> Future[T]:
        """Schedule ``coroutine`` on the server's loop (e.g. to inspect or change app state)."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop(self, *, run_on_stop: bool = True) -> None:
        """Run ``on_stop`` (unless told not to) on the server's loop, stop uvicorn and join the
        thread (idempotent)."""
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return
        if loop is not None and thread.is_alive():
            if self._on_stop is not None and run_on_stop:
                # RuntimeError: the loop closed meanwhile; TimeoutError: stop anyway.
                with contextlib.suppress(RuntimeError, TimeoutError):
                    asyncio.run_coroutine_threadsafe(_call(self._on_stop), loop).result(10)
            server.should_exit = True
        thread.join(timeout=15)
        self._thread = None
        self._loop = None
        if self._socket is not None:
            self._socket.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # reported to start(); the thread must not die silently
            self._failure = e

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        assert self._server is not None
        assert self._socket is not None
        await self._server.serve(sockets=[self._socket])


async def _call(function: Callable[[], Awaitable[None]]) -> None:
    await function()
