"""A real local HTTP server for tests of outbound HTTP and webhooks (starlette on uvicorn).

Runs as its own process (``python -m omnibase_infra.testing.servers.http --port P``) on
127.0.0.1, ready when ``GET /health`` answers, stopped (or paused) by PID. Routes:

- ``GET /health``: 200 ``ok``.
- ``ANY /echo``: 200 with the request as JSON (method, path, query, headers, body).
- ``ANY /status/{code}``: that status; ``?retry_after=V`` adds ``Retry-After: V``.
- ``GET /slow?seconds=S``: answers after S seconds.
- ``GET /big?bytes=N``: a body of N bytes.
- ``GET /redirect``: 302 to ``/echo``, or to ``?to=URL`` (another origin, for redirect tests).
- ``POST /webhook``: checks the Standard Webhooks signature against the secret given in
  ``ONEX_TEST_WEBHOOK_SECRET``; 204 when valid, 401 when not.
- ``GET /_received``: every request received so far (oldest first, at most 1000).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from pydantic import JsonValue, SecretStr
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError

__all__ = ["HttpTestServer", "build_app"]

WEBHOOK_SECRET_ENV = "ONEX_TEST_WEBHOOK_SECRET"  # noqa: S105 - a variable name
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def build_app(webhook_secret: str | None) -> Starlette:
    """The test server's ASGI app; ``webhook_secret`` is a ``whsec_...`` secret or None."""
    received: deque[dict[str, JsonValue]] = deque(maxlen=1000)
    verifier = Webhook(webhook_secret) if webhook_secret else None

    async def record(request: Request) -> dict[str, JsonValue]:
        body = await request.body()
        entry: dict[str, JsonValue] = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": {key.lower(): value for key, value in request.headers.items()},
            "body": body.decode(errors="replace"),
        }
        received.append(entry)
        return entry

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def echo(request: Request) -> Response:
        return JSONResponse(await record(request))

    async def status(request: Request) -> Response:
        await record(request)
        code = int(request.path_params["code"])
        headers = {}
        retry_after = request.query_params.get("retry_after")
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return PlainTextResponse(f"status {code}", status_code=code, headers=headers)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        return PlainTextResponse("slow")

    async def big(request: Request) -> Response:
        return Response(b"x" * int(request.query_params.get("bytes", "0")))

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params.get("to", "/echo"), status_code=302)

    async def webhook(request: Request) -> Response:
        entry = await record(request)
        if verifier is None:
            return PlainTextResponse("no secret configured", status_code=500)
        headers = entry["headers"]
        body = entry["body"]
        if not isinstance(headers, dict) or not isinstance(body, str):
            return PlainTextResponse("bad request", status_code=400)
        try:
            verifier.verify(body, {k: str(v) for k, v in headers.items()}, json_parse=False)
        except WebhookVerificationError:
            return PlainTextResponse("bad signature", status_code=401)
        return Response(status_code=204)

    async def received_list(_: Request) -> Response:
        return JSONResponse(list(received))

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/echo", echo, methods=_ALL_METHODS),
            Route("/status/{code:int}", status, methods=_ALL_METHODS),
            Route("/slow", slow),
            Route("/big", big),
            Route("/redirect", redirect),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/_received", received_list),
        ]
    )


@dataclass
class HttpTestServer:
    """A running test HTTP server at ``url``, optionally checking webhook signatures."""

    url: str
    port: int
    webhook_secret: SecretStr | None
    process: ManagedProcess

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        webhook_secret: SecretStr | None = None,
        startup_timeout_seconds: float = 20.0,
    ) -> HttpTestServer:
        """Start the server in its own process and wait until ``/health`` answers."""
        env = dict(os.environ)
        if webhook_secret is not None:
            env[WEBHOOK_SECRET_ENV] = webhook_secret.get_secret_value()
        last_error: ServerStartError | None = None
        for attempt in range(3):
            port = free_port()
            process = ManagedProcess(
                "http-test-server",
                [sys.executable, "-m", "omnibase_infra.testing.servers.http", "--port", str(port)],
                log_path=workdir / f"http-{port}-{attempt}.log",
                env=env,
                cwd=workdir,
            )
            process.start()
            url = f"http://127.0.0.1:{port}"
            try:
                process.wait_ready(functools.partial(_healthy, url), startup_timeout_seconds)
            except ServerStartError as e:
                process.stop()
                last_error = e
                continue
            return cls(url=url, port=port, webhook_secret=webhook_secret, process=process)
        raise last_error or ServerStartError("the HTTP test server did not start")

    def stop(self) -> None:
        """Stop the server by its PID."""
        self.process.stop()

    async def received(self) -> list[dict[str, JsonValue]]:
        """Every request the server recorded, oldest first."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(f"{self.url}/_received")
        response.raise_for_status()
        entries: list[dict[str, JsonValue]] = response.json()
        return entries


def _healthy(url: str) -> bool:
    return httpx.get(f"{url}/health", timeout=1.0, trust_env=False).status_code == 200


def main() -> None:
    """Serve the test app on 127.0.0.1 (entry point of the server process)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build_app(os.environ.get(WEBHOOK_SECRET_ENV))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
