"""A fake Consul agent: a real HTTP server on a free 127.0.0.1 port speaking Consul's HTTP API.

No Consul agent can be installed here, so ``HandlerConsul`` is tested against this server, and
the same suite runs against a real agent when ``CONSUL_HTTP_ADDR`` is set. State and semantics
come from ``DiscoveryLocalCatalog`` (checks start critical, TTL expiry, polled HTTP checks,
DeregisterCriticalServiceAfter, indexes, KV check-and-set); this module adds Consul's wire
format and HTTP behaviour:

- ``PUT /v1/agent/service/register[?replace-existing-checks]``, ``PUT
  /v1/agent/service/deregister/:id`` (404 "Unknown service ID" when unknown);
- ``PUT /v1/agent/check/pass|warn|fail/:id[?note=]`` (404 unknown, 500 "does not have
  associated TTL" for a check that is not a TTL check);
- ``GET /v1/health/service/:name[?passing&tag=]`` with the node's ``serfHealth`` check,
  ``GET /v1/catalog/services``, ``GET /v1/catalog/service/:name[?tag=]``;
- ``GET|PUT|DELETE /v1/kv/:key`` (base64 values, ``?cas=``, ``?flags=``, ``?recurse``; 404 for a
  missing key; 413 over 512 KiB);
- blocking reads: ``?index=&wait=`` hold the request until the read's ``X-Consul-Index`` passes
  ``index`` or ``wait`` (default 5 min, at most 10 min, plus up to wait/16 jitter) elapses;
- ``?dc=`` other than its own datacenter: 500 "No path to datacenter";
- ACLs when built with ``acl_token``: the token comes in ``X-Consul-Token`` or ``Authorization:
  Bearer``; an unknown token gets 403 "ACL not found"; without a token, writes and KV reads get
  403 "Permission denied" and catalog/health reads come back empty with
  ``X-Consul-Results-Filtered-By-ACLs: true``; ``/v1/status/*`` needs no token.

Registration bodies are validated with ``ModelServiceRegistration``, which is stricter than
Consul in places (e.g. DeregisterCriticalServiceAfter under a minute is refused, not raised).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType

import httpx
from pydantic import JsonValue, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from omnibase_infra.handlers.consul.wire import (
    SERVICE_DEFINITION,
    parse_go_duration,
)
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
)
from omnibase_infra.handlers.discovery.arguments import MAX_KV_VALUE_BYTES
from omnibase_infra.handlers.discovery.local_catalog import (
    Clock,
    DiscoveryLocalCatalog,
    EnumTtlUpdate,
)
from omnibase_infra.testing.servers.asgi_server import AsgiServerThread
from omnibase_infra.testing.servers.fake_consul_wire import (
    ConsulNodeShapes,
    kv_pair,
    registration_from_definition,
)

__all__ = ["FakeConsulAgent"]

_DEFAULT_WAIT = 300.0
_MAX_WAIT = 600.0
_TTL_PATHS = {
    "pass": EnumCheckStatus.PASSING,
    "warn": EnumCheckStatus.WARNING,
    "fail": EnumCheckStatus.CRITICAL,
}


_Endpoint = Callable[[Request], Awaitable[Response]]


class _Reply(Exception):  # noqa: N818 - a control-flow signal carrying an HTTP reply, not an error
    """Raised inside a route to answer with ``status`` and a plain-text ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeConsulAgent:
    """A Consul agent double served over real HTTP (see the module docstring).

    Use ``async with FakeConsulAgent() as agent:`` (or ``start``/``stop``) and point a
    ``HandlerConsul`` at ``agent.base_url``. ``clock`` drives TTL expiry and reaping; with a
    ``ManualClock`` a test moves time, and the next request applies what became due.
    """

    def __init__(
        self,
        *,
        acl_token: str | None = None,
        clock: Clock = time.monotonic,
        datacenter: str = "dc1",
        node_name: str = "fake-consul",
    ) -> None:
        self.acl_token = acl_token
        self.datacenter = datacenter
        self.node_name = node_name
        self.node_id = str(uuid.uuid4())
        self._catalog = DiscoveryLocalCatalog(clock=clock, node_name=node_name)
        self._shapes = ConsulNodeShapes(
            self.node_id, node_name, self._catalog.node_address, datacenter
        )
        self._server = AsgiServerThread(
            self._app(), name="fake-consul", on_stop=self._catalog.close
        )
        self._down_port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self._server.base_url

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` (the form of ``CONSUL_HTTP_ADDR``)."""
        return f"127.0.0.1:{self._server.port}"

    async def start(self) -> None:
        """Serve on a free port; returns once ``GET /v1/status/leader`` answers."""
        await asyncio.to_thread(self._server.start)
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False) as client:
            response = await client.get("/v1/status/leader", timeout=5.0)
            if response.status_code != 200 or not response.json():
                raise RuntimeError("the fake Consul agent did not answer its readiness probe")

    async def stop(self) -> None:
        """Release blocked reads, stop HTTP checks and the server (idempotent)."""
        await asyncio.to_thread(self._server.stop)

    async def go_down(self) -> None:
        """Stop answering (connections are refused) but keep every registration: an agent
        that is unreachable for a while, for outage tests. ``come_back`` ends it."""
        self._down_port = self._server.port
        await asyncio.to_thread(partial(self._server.stop, run_on_stop=False))

    async def come_back(self) -> None:
        """Answer again on the same port, with the registrations as they were."""
        if self._down_port is None:
            return
        await asyncio.to_thread(self._server.start, self._down_port)
        self._down_port = None

    async def __aenter__(self) -> FakeConsulAgent:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---- the app -------------------------------------------------------------------------

    def _app(self) -> Starlette:
        def route(path: str, endpoint: _Endpoint, methods: list[str]) -> Route:
            return Route(path, self._guard(endpoint), methods=methods)

        return Starlette(
            routes=[
                Route("/v1/status/leader", self._leader, methods=["GET"]),
                route("/v1/agent/service/register", self._register, ["PUT"]),
                route("/v1/agent/service/deregister/{service_id}", self._deregister, ["PUT"]),
                route("/v1/agent/check/{action:str}/{check_id}", self._check_update, ["PUT"]),
                route("/v1/health/service/{service}", self._health_service, ["GET"]),
                route("/v1/catalog/services", self._catalog_services, ["GET"]),
                route("/v1/catalog/service/{service}", self._catalog_service, ["GET"]),
                route("/v1/kv/{key:path}", self._kv, ["GET", "PUT", "DELETE"]),
            ]
        )

    def _guard(self, endpoint: _Endpoint) -> _Endpoint:
        """Answer ``_Reply`` as plain text; check the datacenter first, as Consul routes by it."""

        async def guarded(request: Request) -> Response:
            try:
                dc = request.query_params.get("dc")
                if dc is not None and dc != self.datacenter:
                    raise _Reply(500, "No path to datacenter")
                return await endpoint(request)
            except _Reply as reply:
                return PlainTextResponse(reply.message, status_code=reply.status)

        return guarded

    async def _leader(self, _: Request) -> Response:
        return JSONResponse("127.0.0.1:8300")

    # ---- ACL -----------------------------------------------------------------------------

    def _token_state(self, request: Request) -> str:
        """``open`` (no ACLs), ``ok``, or ``anonymous``; raises 403 for an unknown token."""
        if self.acl_token is None:
            return "open"
        token = request.headers.get("x-consul-token")
        authorization = request.headers.get("authorization", "")
        if token is None and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        if not token:
            return "anonymous"
        if token != self.acl_token:
            raise _Reply(403, "ACL not found")
        return "ok"

    def _require_write(self, request: Request) -> None:
        if self._token_state(request) == "anonymous":
            raise _Reply(403, "Permission denied")

    # ---- agent endpoints -----------------------------------------------------------------

    async def _register(self, request: Request) -> Response:
        self._require_write(request)
        try:
            definition = SERVICE_DEFINITION.validate_json(await request.body())
            registration = registration_from_definition(definition)
        except (ValidationError, ValueError) as e:
            raise _Reply(400, f"Request decode failed: {_first_error(e)}") from e
        replace = _flag(request, "replace-existing-checks")
        self._catalog.register(registration, replace_existing_checks=replace)
        return Response(status_code=200)

    async def _deregister(self, request: Request) -> Response:
        self._require_write(request)
        service_id = request.path_params["service_id"]
        if not self._catalog.deregister(service_id):
            raise _Reply(
                404,
                f"Unknown service ID {service_id!r}. Ensure that the service ID is passed, "
                "not the service name.",
            )
        return Response(status_code=200)

    async def _check_update(self, request: Request) -> Response:
        self._require_write(request)
        status = _TTL_PATHS.get(request.path_params["action"])
        if status is None:
            raise _Reply(404, "not found")
        check_id = request.path_params["check_id"]
        outcome = self._catalog.update_ttl(check_id, status, request.query_params.get("note", ""))
        if outcome is EnumTtlUpdate.UNKNOWN:
            raise _Reply(404, f"Unknown check ID {check_id!r}")
        if outcome is EnumTtlUpdate.NOT_TTL:
            raise _Reply(500, f"CheckID {check_id!r} does not have associated TTL")
        return Response(status_code=200)

    # ---- catalog and health --------------------------------------------------------------

    async def _health_service(self, request: Request) -> Response:
        name = request.path_params["service"]
        visible = self._read_allowed(request)
        index = await self._block(request, lambda: self._catalog.service_index(name))
        views = self._catalog.services(name, tag=request.query_params.get("tag"))
        if _flag(request, "passing"):
            views = [view for view in views if view.passing]
        body: list[JsonValue] = (
            [self._shapes.health_entry(view) for view in views] if visible else []
        )
        return self._read_reply(body, index, filtered=not visible)

    async def _catalog_services(self, request: Request) -> Response:
        visible = self._read_allowed(request)
        index = await self._block(request, lambda: self._catalog.catalog_index)
        services: dict[str, JsonValue] = {
            name: list(tags) for name, tags in self._catalog.service_tags().items()
        }
        return self._read_reply(services if visible else {}, index, filtered=not visible)

    async def _catalog_service(self, request: Request) -> Response:
        name = request.path_params["service"]
        visible = self._read_allowed(request)
        index = await self._block(request, lambda: self._catalog.service_index(name))
        views = self._catalog.services(name, tag=request.query_params.get("tag"))
        body: list[JsonValue] = (
            [self._shapes.catalog_entry(view) for view in views] if visible else []
        )
        return self._read_reply(body, index, filtered=not visible)

    def _read_allowed(self, request: Request) -> bool:
        """Anonymous catalog reads are filtered (empty), as with a default-deny policy."""
        return self._token_state(request) != "anonymous"

    async def _block(self, request: Request, index_of: Callable[[], int]) -> int:
        """Hold a blocking read until ``index_of()`` passes ``?index=`` or ``?wait=`` elapses."""
        params = request.query_params
        raw_index = params.get("index")
        if raw_index is not None:
            if not raw_index.isdigit():
                raise _Reply(400, "Invalid index")
            wait = _DEFAULT_WAIT
            if "wait" in params:
                try:
                    wait = min(parse_go_duration(params["wait"]), _MAX_WAIT)
                except ValueError as e:
                    raise _Reply(400, "Invalid wait time") from e
            jitter = random.uniform(0, wait / 16)  # noqa: S311 - spreads wake-ups, not security
            await self._catalog.block(index_of, int(raw_index), wait + jitter)
        else:
            self._catalog.refresh()
        return max(1, index_of())

    def _read_reply(self, body: JsonValue, index: int, *, filtered: bool) -> Response:
        headers = {
            "X-Consul-Index": str(index),
            "X-Consul-KnownLeader": "true",
            "X-Consul-LastContact": "0",
        }
        if filtered:
            headers["X-Consul-Results-Filtered-By-ACLs"] = "true"
        return JSONResponse(body, headers=headers)

    # ---- key/value -----------------------------------------------------------------------

    async def _kv(self, request: Request) -> Response:
        key: str = request.path_params["key"]
        if request.method == "GET":
            if self._token_state(request) == "anonymous":
                raise _Reply(403, "Permission denied")
            return await self._kv_get(request, key)
        self._require_write(request)
        if not key:
            raise _Reply(400, "Missing key name")
        cas = _uint_param(request, "cas")
        if request.method == "DELETE":
            return JSONResponse(self._catalog.kv.delete(key, cas=cas))
        value = await request.body()
        if len(value) > MAX_KV_VALUE_BYTES:
            raise _Reply(
                413,
                f"Request body({len(value)} bytes) too large, max size: "
                f"{MAX_KV_VALUE_BYTES} bytes.",
            )
        flags = _uint_param(request, "flags") or 0
        return JSONResponse(self._catalog.kv.put(key, value, flags=flags, cas=cas))

    async def _kv_get(self, request: Request, key: str) -> Response:
        recurse = _flag(request, "recurse")
        if recurse:
            index = await self._block(request, lambda: self._catalog.kv.index())
            entries = self._catalog.kv.list(key)
        else:
            index = await self._block(request, lambda: self._catalog.kv.index(key))
            entry = self._catalog.kv.get(key)
            entries = [entry] if entry is not None else []
        if not entries:
            return Response(status_code=404, headers={"X-Consul-Index": str(index)})
        return self._read_reply([kv_pair(entry) for entry in entries], index, filtered=False)


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter as Consul reads it: present means true unless it says false."""
    value = request.query_params.get(name)
    return value is not None and value.lower() not in ("false", "0")


def _uint_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise _Reply(400, f"Invalid {name} value")
    return int(raw)


def _first_error(error: Exception) -> str:
    """A short reason for a 400 (the first validation message)."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(error)
