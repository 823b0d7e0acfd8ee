"""What the poison chaos tests share: ``onex-infra run`` on its own Tansu broker and embedded
PostgreSQL, messages built as a node would send them, and the counts read back.

The runtime is a real process (the CLI), its log a file of JSON lines; the broker is a Tansu
process of its own, so the platform's topics hold only what these tests sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import yaml
from chaos_runtime import CLI
from confluent_kafka import Consumer, TopicPartition

from omnibase_infra._core import ModelNodeCapability, ModelNodeIntrospectionEvent, ModelSemVer
from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import read_dlq
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers, new_envelope
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_REJECTED,
)
from omnibase_infra.testing import TansuServer, free_port, make_kafka_settings

# Every poison message carries this header (first, so a dead letter cut to its header budget
# keeps it): how a dead letter is matched to what was sent.
CHAOS_ID = "chaos-id"
BOOT_SECONDS = 240.0


@dataclass
class ChaosRuntime:
    """A running ``onex-infra run``: its broker, hub, config and log."""

    process: subprocess.Popen[bytes]
    tansu: TansuServer
    config: Path
    log: Path
    port: int

    @property
    def hub(self) -> str:
        """The hub's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def kafka(self) -> ModelKafkaSettings:
        """Settings reaching the runtime's broker."""
        return make_kafka_settings(self.tansu.bootstrap_servers)

    def events(self, name: str) -> list[dict[str, object]]:
        """The runtime's log lines whose event is ``name``."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == name:
                    found.append(record)
        return found

    def ready(self) -> httpx.Response:
        """GET /ready."""
        return httpx.get(f"{self.hub}/ready", timeout=10)

    def registered(self, names: set[str]) -> set[str]:
        """Which of ``names`` the registry holds."""
        answer = httpx.get(f"{self.hub}/registry", params={"limit": 500}, timeout=10).json()
        return {node["node_name"] for node in answer["nodes"]} & names

    def rejected_correlations(self) -> set[str]:
        """Correlation ids of every registration rejection the runtime announced."""
        found: set[str] = set()
        for value in read_topic(self.tansu.bootstrap_servers, TOPIC_NODE_REJECTED):
            with contextlib.suppress(ValueError, AttributeError):
                payload = json.loads(value[1]).get("payload") or {}
                if isinstance(payload.get("correlation_id"), str):
                    found.add(payload["correlation_id"])
        return found

    def dead_letters(self) -> list[ModelKafkaDlqEntry]:
        """Every dead letter of the introspection topic (newest version of each)."""
        return read_dlq(self.kafka, ModelKafkaDlqFilter(topic=TOPIC_NODE_INTROSPECTION))


def _config(directory: Path, bootstrap: str) -> Path:
    values = {
        "event_bus": {
            "kind": "kafka",
            "stuck_after_seconds": 5.0,
            "retry": {"max_attempts": 2, "base_delay_seconds": 0.05, "max_delay_seconds": 0.2},
            "kafka": {
                "bootstrap_servers": bootstrap,
                "session_timeout_ms": 2000,
                "heartbeat_interval_ms": 300,
                "fetch_wait_max_ms": 20,
            },
        },
        "postgres": {"data_dir": str(directory / "pg")},
        "log_format": "json",
        "shutdown_grace_seconds": 10.0,
    }
    path = directory / "runtime.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


@contextlib.contextmanager
def chaos_runtime() -> Iterator[ChaosRuntime]:
    """Tansu, then ``onex-infra run`` on it with an embedded PostgreSQL; stopped by PID."""
    # Outside pytest's tmp_path: as root the embedded server runs as another user.
    directory = Path(tempfile.mkdtemp(prefix="onex-chaos-"))
    with TansuServer() as tansu:
        config = _config(directory, tansu.bootstrap_servers)
        log = directory / "runtime.log"
        port = free_port()
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [CLI, "run", "--config", str(config), "--http-port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "HOME": str(directory),
                    "ONEX_INGRESS__PORT": "0",
                    "ONEX_DASHBOARD__PORT": "0",
                },
            )
        runtime = ChaosRuntime(process, tansu, config, log, port)
        try:
            _wait_ready(runtime)
            yield runtime
        finally:
            _stop(process)
            if os.environ.get("ONEX_CHAOS_KEEP"):
                print(f"chaos runtime files kept in {directory}")
            else:
                shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(runtime: ChaosRuntime) -> None:
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if runtime.process.poll() is not None:
            raise AssertionError(f"runtime exited: {runtime.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if runtime.ready().status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(
        f"runtime not ready in {BOOT_SECONDS} s: {runtime.log.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def introspection(name: str) -> tuple[bytes, bytes, dict[str, str]]:
    """Key, value and headers of a node's introspection, as a node publishes it."""
    node_id = uuid4()
    version = ModelSemVer(major=1, minor=0, patch=0)
    event = ModelNodeIntrospectionEvent(
        node_id=node_id,
        node_name=name,
        version=version,
        node_type="effect",
        capabilities=ModelNodeCapability(
            value="onex.node", description="onex.node", version_introduced=version
        ),
    )
    envelope = new_envelope(event, correlation_id=uuid4(), producer=name)
    return str(node_id).encode(), encode_envelope(envelope), envelope_headers(envelope)


def chaos_id_of(entry: ModelKafkaDlqEntry) -> UUID | None:
    """The chaos id a dead letter carries (None: not one of ours)."""
    raw = entry.headers.get(CHAOS_ID)
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


def read_topic(bootstrap: str, topic: str) -> list[tuple[dict[str, bytes], bytes]]:
    """Every message of ``topic`` (headers, value), read from the start until nothing comes."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-read-{uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    found: list[tuple[dict[str, bytes], bytes]] = []
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        if not partitions:
            return []
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        while batch := consumer.consume(1000, 1.0):
            for message in batch:
                if message.error() is None:
                    found.append((dict(message.headers() or []), message.value() or b""))
        return found
    finally:
        consumer.close()
