"""What the runtime host tests share: configs for the test nodes, a recording sink, a pingable
handler whose health a test switches, and a running host on the in-memory bus.

The nodes are the ``runtime_testnodes`` package next to this module (importable because pytest
puts this directory on ``sys.path``); the runtime imports their handlers from their contracts,
through the plugin allowlist, like any installed node package.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, JsonValue
from runtime_testnodes import PIPELINE_DIR
from runtime_testnodes.models import ModelRtRecordJob, ModelRtStartJob
from runtime_testnodes.protocol_rt_sink import ProtocolRtSink
from runtime_testnodes.topics import TOPIC_START_JOB

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.host import RuntimeHostProcess

ALLOWLIST = "runtime_testnodes"


def node_config(contract_dir: Path = PIPELINE_DIR, **overrides: JsonValue) -> ModelRuntimeConfig:
    """The runtime config of a test: the test nodes only, hub on a free port, DLQ at once."""
    values: dict[str, JsonValue] = {
        "contract_dirs": [str(contract_dir)],
        "use_entry_points": False,
        "plugin_allowlist": [ALLOWLIST],
        "http": {"port": 0},
        "postgres": {"mode": "disabled"},
        "event_bus": {"retry": None},
        "shutdown_grace_seconds": 30.0,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_runtime_config(None, **values)


@dataclass(frozen=True)
class ModelRecorded:
    """One job the sink received, with the ids of the intent envelope that carried it."""

    job: ModelRtRecordJob
    correlation_id: UUID
    envelope_id: UUID
    parent_envelope_id: UUID | None


class RecordingSink(ProtocolRtSink):
    """A ``ProtocolRtSink`` keeping every job; ``delay`` makes it a slow node."""

    def __init__(self, delay: float = 0.0) -> None:
        self.recorded: list[ModelRecorded] = []
        self._delay = delay

    async def record(
        self,
        job: ModelRtRecordJob,
        *,
        correlation_id: UUID,
        envelope_id: UUID,
        parent_envelope_id: UUID | None,
    ) -> None:
        """Keep the job (after ``delay`` seconds)."""
        if self._delay:
            await asyncio.sleep(self._delay)
        self.recorded.append(ModelRecorded(job, correlation_id, envelope_id, parent_envelope_id))


class SwitchableHandler(ProtocolInfraHandler):
    """An infrastructure handler whose ping a test makes fail, with a chosen detail."""

    def __init__(self, name: str = "switchable") -> None:
        self._name = name
        self.healthy = True
        self.failure_detail = "down"
        self.ping_error: Exception | None = None  # raised by ping (a handler breaking its rule)
        self.ping_hangs = False
        self.started = False
        self.closed = False

    @property
    def handler_name(self) -> str:
        """The name in readiness reports."""
        return self._name

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """HTTP, arbitrarily."""
        return EnumInfraTransportType.HTTP

    async def start(self) -> None:
        """Record that the host started it."""
        self.started = True

    async def ping(self) -> ModelHealthCheckResult:
        """Healthy, or failed with ``failure_detail`` as given (not sanitised here)."""
        if self.ping_hangs:
            await asyncio.Event().wait()
        if self.ping_error is not None:
            raise self.ping_error
        if self.healthy:
            return ModelHealthCheckResult(name=self._name, healthy=True)
        return ModelHealthCheckResult(name=self._name, healthy=False, detail=self.failure_detail)

    async def close(self) -> None:
        """Record that the host closed it."""
        self.closed = True


@asynccontextmanager
async def running_host(
    config: ModelRuntimeConfig | None = None,
    *,
    sink: ProtocolRtSink | None = None,
    handlers: Sequence[ProtocolInfraHandler] = (),
    services: dict[type[object], object] | None = None,
    routers: Sequence[APIRouter] = (),
) -> AsyncIterator[RuntimeHostProcess]:
    """A started host on the in-memory bus with the sink registered; drained and stopped after."""
    wired: dict[type[object], object] = {ProtocolRtSink: sink or RecordingSink()}
    wired.update(services or {})
    host = RuntimeHostProcess(
        config or node_config(), handlers=handlers, services=wired, routers=routers
    )
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def in_memory_bus(host: RuntimeHostProcess) -> EventBusInmemory:
    """The host's bus, which these tests expect to be the in-memory one."""
    assert isinstance(host.bus, EventBusInmemory)
    return host.bus


async def publish_start_job(
    bus: EventBusInmemory,
    *,
    key: str = "k",
    seq: int = 0,
    value: int = 0,
    correlation_id: UUID | None = None,
) -> ModelEventEnvelope[BaseModel]:
    """Publish one start-job command keyed by ``key``; returns its envelope."""
    command = ModelRtStartJob(job_id=uuid4(), key=key, seq=seq, value=value)
    envelope: ModelEventEnvelope[BaseModel] = ModelEventEnvelope(
        payload=command,
        payload_type=type(command).__name__,
        correlation_id=correlation_id,
        producer="rtest",
    )
    await bus.publish_envelope(envelope, TOPIC_START_JOB, key.encode())
    return envelope


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text as ``{(sample name, sorted labels): value}``."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def get_metrics(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics, parsed."""
    reply = await client.get("/metrics")
    assert reply.status_code == 200
    return metric_samples(reply.text)


def hub_client(host: RuntimeHostProcess) -> httpx.AsyncClient:
    """An HTTP client for the host's hub."""
    assert host.http_port is not None
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{host.http_port}", timeout=10.0)
