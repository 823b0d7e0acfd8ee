"""A real HTTP dependency whose failure rate, latency and Retry-After a test controls.

Run as a separate process (``python -m omnibase_infra.testing.servers.flaky_http --port P``) on
127.0.0.1; ``FlakyHttpServer.start`` picks a free port, waits for ``GET /health`` to answer and
stops the process by its PID. Endpoints:

``POST /work/{item}``
    the guarded operation: 200 ``{"item", "attempt"}``, or 503 when the failure rate says so;
``POST /control``
    JSON ``{"failure_rate": 0..1, "delay_seconds": s, "retry_after": s | null}``, any subset;
``GET /stats``
    requests, failures and per-item ``attempts``/``successes`` since the last reset;
``POST /reset``
    forget the statistics (the control settings stay).

Failures are deterministic, not random: with rate r, a request fails each time the running sum
of r crosses an integer (r = 0.2 fails every fifth request, 1.0 all, 0 none), so a test can
count exactly what must happen.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.process import ManagedProcess

__all__ = ["FlakyHttpServer", "build_app"]

_READY_TIMEOUT_SECONDS = 20.0


class _Behaviour:
    """What the server does now, and what it has seen."""

    def __init__(self) -> None:
        self.failure_rate = 0.0
        self.delay_seconds = 0.0
        self.retry_after: float | None = None
        self._credit = 0.0
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.failures = 0
        self.attempts: dict[str, int] = {}
        self.successes: dict[str, int] = {}

    def next_fails(self) -> bool:
        self._credit += self.failure_rate
        if self._credit >= 1.0 - 1e-9:
            self._credit -= 1.0
            return True
        return False


def build_app() -> Starlette:
    """The ASGI app (also usable in-process)."""
    state = _Behaviour()

    async def work(request: Request) -> Response:
        item = request.path_params["item"]
        state.requests += 1
        attempt = state.attempts.get(item, 0) + 1
        state.attempts[item] = attempt
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        if state.next_fails():
            state.failures += 1
            headers = {}
            if state.retry_after is not None:
                headers["Retry-After"] = str(state.retry_after)
            return JSONResponse({"error": "injected failure"}, status_code=503, headers=headers)
        state.successes[item] = state.successes.get(item, 0) + 1
        return JSONResponse({"item": item, "attempt": attempt})

    async def control(request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        if "failure_rate" in body:
            rate = float(body["failure_rate"])
            if not 0.0 <= rate <= 1.0:
                return JSONResponse({"error": "failure_rate must be in [0, 1]"}, status_code=400)
            state.failure_rate = rate
        if "delay_seconds" in body:
            state.delay_seconds = max(0.0, float(body["delay_seconds"]))
        if "retry_after" in body:
            value = body["retry_after"]
            state.retry_after = None if value is None else float(value)
        return JSONResponse({"failure_rate": state.failure_rate})

    async def stats(_: Request) -> Response:
        return JSONResponse(
            {
                "requests": state.requests,
                "failures": state.failures,
                "attempts": state.attempts,
                "successes": state.successes,
            }
        )

    async def reset(_: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/work/{item}", work, methods=["POST"]),
            Route("/control", control, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


class FlakyHttpServer:
    """The flaky server process: ``base_url``, async ``control()``/``stats()``, ``stop()``."""

    def __init__(self, process: ManagedProcess, port: int) -> None:
        self._process = process
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        """The server process's PID."""
        return self._process.pid

    @classmethod
    def start(cls, work_dir: Path) -> FlakyHttpServer:
        """Start on a free port; returns once ``GET /health`` answers 200."""
        port = free_port()
        process = ManagedProcess(
            "flaky-http",
            [
                sys.executable,
                "-m",
                "omnibase_infra.testing.servers.flaky_http",
                "--port",
                str(port),
            ],
            log_path=work_dir / "flaky-http.log",
        )
        process.start()
        url = f"http://127.0.0.1:{port}/health"
        process.wait_ready(
            lambda: httpx.get(url, timeout=1.0).status_code == 200, _READY_TIMEOUT_SECONDS
        )
        return cls(process, port)

    async def control(
        self,
        *,
        failure_rate: float | None = None,
        delay_seconds: float | None = None,
        retry_after: float | None = None,
        clear_retry_after: bool = False,
    ) -> None:
        """Change the behaviour (only the arguments given)."""
        body: dict[str, float | None] = {}
        if failure_rate is not None:
            body["failure_rate"] = failure_rate
        if delay_seconds is not None:
            body["delay_seconds"] = delay_seconds
        if retry_after is not None or clear_retry_after:
            body["retry_after"] = retry_after
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0) as client:
            (await client.post("/control", json=body)).raise_for_status()

    async def stats(self) -> dict[str, object]:
        """Requests, failures and per-item attempts/successes since the last reset."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0) as client:
            response = await client.get("/stats")
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    async def reset(self) -> None:
        """Forget the statistics."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0) as client:
            (await client.post("/reset")).raise_for_status()

    def stop(self) -> None:
        """Stop the process (by PID)."""
        self._process.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the app on 127.0.0.1:<port> until terminated."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        build_app(),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
