"""What the ingress tests share: a runtime host on the test nodes with its ingress serving on a
free port, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import httpx
from pydantic import JsonValue
from runtime_support import RecordingSink, node_config
from runtime_testnodes.protocol_rt_sink import ProtocolRtSink

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.ingress_component import IngressComponent


@asynccontextmanager
async def ingress_host(
    sink: RecordingSink,
    *,
    ingress: dict[str, JsonValue] | None = None,
    bus: EventBusBase | None = None,
    **overrides: JsonValue,
) -> AsyncIterator[tuple[RuntimeHostProcess, httpx.AsyncClient]]:
    """A started host whose ingress serves on a free port; yields it and a client of the
    ingress (keep-alive), stopped after."""
    config = node_config(ingress={"port": 0, **(ingress or {})}, **overrides)
    component = IngressComponent(config.ingress)
    host = RuntimeHostProcess(
        config, bus=bus, services={ProtocolRtSink: sink}, components=[component]
    )
    await host.start()
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{component.port}", timeout=10.0, trust_env=False
        ) as client:
            yield host, client
    finally:
        await host.stop()


def start_job(key: str = "k", seq: int = 0) -> dict[str, JsonValue]:
    """A bare ``ModelRtStartJob`` payload as JSON."""
    return {"job_id": str(uuid4()), "key": key, "seq": seq, "value": 3}
