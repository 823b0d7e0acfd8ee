"""``onex-infra run`` on a real Tansu broker, as an operator meets it: boot, crash, stop, abort.

Each test gets a broker of its own (Tansu keeps a group's settings and members for its life,
and the drain nodes' topic names are fixed), on a free port, stopped by PID. The runtime runs
with the Kafka bus's default group settings (6 s session: Tansu holds each join 3 s), the
embedded PostgreSQL where the package's nodes need it. Costs about a minute in all.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from process_support import ModelProbe, postgres_serving, spawned, write_config
from runtime_support import ALLOWLIST
from runtime_testnodes import DRAIN_DIR
from runtime_testnodes.files import HANDLED_FILE, PUBLISHED_FILE, read_lines
from runtime_testnodes.topics import TOPIC_SLOW_WORK

from omnibase_infra.runtime.plugins.model_runtime_tick import TOPIC_RUNTIME_TICK
from omnibase_infra.testing import TansuServer, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLOW_EFFECT_GROUP = "local.omnibase-infra.rt_slow_effect.consume.v1"
TICK_GROUP = "local.omnibase-infra.rt_burst_orchestrator.consume.v1"


@pytest.fixture
def broker() -> Iterator[TansuServer]:
    """A Tansu broker of this test's own on a free port, stopped by PID."""
    with TansuServer() as server:
        yield server


def _package_config(path: Path, data_dir: Path, servers: str, **kafka: object) -> Path:
    """The package's nodes on the Kafka bus with an embedded PostgreSQL in ``data_dir``."""
    return write_config(
        path,
        {
            "postgres": {"data_dir": str(data_dir)},
            "event_bus": {"kind": "kafka", "kafka": {"bootstrap_servers": servers, **kafka}},
        },
    )


def _drain_config(path: Path, servers: str, grace: float) -> Path:
    """The drain test nodes (a burst on the first tick, a slow effect) on the Kafka bus."""
    return write_config(
        path,
        {
            "use_entry_points": False,
            "contract_dirs": [str(DRAIN_DIR)],
            "plugin_allowlist": [ALLOWLIST],
            "postgres": {"mode": "disabled"},
            "registration": {"tick_interval_seconds": 0.1},
            "shutdown_grace_seconds": grace,
            "event_bus": {"kind": "kafka", "retry": None, "kafka": {"bootstrap_servers": servers}},
        },
    )


def _first(probes: list[ModelProbe], answered: str) -> float:
    """When the first probe whose ``answered`` is 200 was made."""
    return next(p.at for p in probes if getattr(p, answered) == 200)


def _pending(probe: ModelProbe) -> list[str]:
    body = probe.ready_body or {}
    pending = body.get("pending")
    return [str(item) for item in pending] if isinstance(pending, list) else []


async def test_boots_to_ready_with_the_package_nodes_and_health_answers_first(
    tmp_path: Path, postgres_base_dir: Path, broker: TansuServer
) -> None:
    """With the package's nodes on Kafka the runtime becomes ready; /health answered 200 before
    /ready did, /ready's 503 named the boot steps still under way, each boot phase was logged,
    and the groups of the consuming nodes (each with its retry group) were joined early and
    adopted."""
    config = _package_config(tmp_path / "runtime.yaml", postgres_base_dir, broker.bootstrap_servers)
    async with spawned(config, tmp_path / "out") as runtime:
        await runtime.until_ready()
        runtime.signal()
        code = await runtime.exit_code()
    assert code == 0
    assert _first(runtime.probes, "health") < _first(runtime.probes, "ready")
    # Which steps a probe catches depends on the machine: the groups begin joining first and
    # may be joined before the host asks for them (``/ready`` naming the groups while it waits
    # on them is pinned with a join the broker holds, below).
    waiting = [item for p in runtime.probes if p.ready == 503 for item in _pending(p)]
    assert waiting, "no /ready 503 named what the start waited for"
    steps = {"hub", "infrastructure", "contracts", "handlers", "components", "consumer groups"}
    assert {item.split(":")[0] for item in waiting} <= steps, waiting
    phases = [line["phase"] for line in runtime.events("boot phase")]
    assert {"hub", "infrastructure", "contracts", "handlers", "consumer groups"} <= set(phases)
    (ready,) = runtime.events("runtime ready")
    # Ten package nodes less the Consul, Keycloak, Vault and webhook adapters (not configured);
    # the health monitor, new among them, subscribes to nothing (it keeps the runtime's time).
    assert ready["nodes"] == 6
    (early,) = runtime.events("early joins")
    # Each consuming node's group and its retry group: the orchestrator and the PostgreSQL
    # adapter (Vault, Consul and webhook are not configured: left out, never joined).
    assert (early["adopted"], early["left"]) == (4, [])


async def test_restart_after_kill_9_is_ready_the_first_time(
    tmp_path: Path, postgres_base_dir: Path, broker: TansuServer
) -> None:
    """After kill -9 of a ready runtime, the next start (same config, same database, the dead
    member still in its groups for a session timeout) becomes ready without a failed join."""
    config = _package_config(tmp_path / "runtime.yaml", postgres_base_dir, broker.bootstrap_servers)
    async with spawned(config, tmp_path / "first") as first:
        await first.until_ready()
        first.signal(signal.SIGKILL)
        assert await first.exit_code() == -signal.SIGKILL
    async with spawned(config, tmp_path / "second") as second:
        await second.until_ready()
        second.signal()
        code = await second.exit_code()
    assert code == 0
    assert second.events("runtime ready")
    assert not [line for line in second.lines if line.get("event") == "<text>"], second.lines


def _committed_total(servers: str, group: str, topic: str) -> int:
    """Sum of ``group``'s committed offsets over ``topic``'s partitions (0 where none)."""
    return _offsets(servers, group, topic)[0]


def _offsets(servers: str, group: str, topic: str) -> tuple[int, int]:
    """``group``'s committed offsets and ``topic``'s end offsets, each summed over partitions."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": group, "log_level": 0})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        committed = consumer.committed(partitions, timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in committed), sum(ends)


async def test_sigterm_on_kafka_stops_within_grace_and_drained_tells_the_truth(
    tmp_path: Path, broker: TansuServer
) -> None:
    """SIGTERM while a slow node works through a burst on Kafka: the process exits 0 inside its
    grace period, logs drained true with the fetched messages it left uncommitted, every
    handled message is committed (and only those), and a restart handles exactly the rest."""
    grace = 8.0
    config = _drain_config(tmp_path / "runtime.yaml", broker.bootstrap_servers, grace)
    out = tmp_path / "out"
    async with spawned(config, out, RTEST_BURST="60", RTEST_DELAY="0.05") as runtime:
        await runtime.until_ready()
        while len(read_lines(out, HANDLED_FILE)) < 3:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.02)
        runtime.signal()
        try:  # an orchestrator's kill deadline: the grace period, plus process exit
            code = await runtime.exit_code(within=grace + 5)
        except TimeoutError:
            pytest.fail(f"the runtime did not stop within its {grace} s grace period")
    published, handled = read_lines(out, PUBLISHED_FILE), read_lines(out, HANDLED_FILE)
    assert code == 0
    (stopped,) = runtime.events("runtime stopped")
    assert stopped["drained"] is True
    left = stopped["left_for_next_consumer"]
    assert isinstance(left, int)
    # The count covers every group of the runtime: runtime ticks (every 0.1 s) fetched and not
    # begun at the stop are in it too, at most the ticks the orchestrator's group left.
    ticks_committed, ticks_end = await asyncio.to_thread(
        _offsets, broker.bootstrap_servers, TICK_GROUP, TOPIC_RUNTIME_TICK
    )
    assert 0 <= left <= len(published) - len(handled) + (ticks_end - ticks_committed)
    assert len(handled) == len(set(handled)) < len(published) == 60
    servers = broker.bootstrap_servers
    committed = await asyncio.to_thread(
        _committed_total, servers, SLOW_EFFECT_GROUP, TOPIC_SLOW_WORK
    )
    assert committed == len(handled)
    async with spawned(config, out, RTEST_BURST="0", RTEST_DELAY="0") as again:
        await again.until_ready()
        while len(read_lines(out, HANDLED_FILE)) < len(published):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        again.signal()
        assert await again.exit_code() == 0
    assert sorted(read_lines(out, HANDLED_FILE)) == sorted(published)  # all, once each


@pytest.mark.parametrize("kafka", ["unreachable", "slow to join"])
async def test_sigterm_while_waiting_on_kafka_aborts_and_stops_embedded_postgres(
    kafka: str, tmp_path: Path, postgres_base_dir: Path, broker: TansuServer
) -> None:
    """SIGTERM while the start waits on Kafka (nothing listening, or a join the broker holds
    for 30 s) aborts the start: exit 128+SIGTERM, "start aborted" logged, and the embedded
    PostgreSQL it had started is not left running."""
    if kafka == "unreachable":
        config = _package_config(
            tmp_path / "rt.yaml", postgres_base_dir, f"127.0.0.1:{free_port()}"
        )
    else:  # Tansu holds a JoinGroup for half the session timeout
        config = _package_config(
            tmp_path / "rt.yaml",
            postgres_base_dir,
            broker.bootstrap_servers,
            session_timeout_ms=60_000,
            heartbeat_interval_ms=3_000,
        )
    async with spawned(config, tmp_path / "out") as runtime:
        await runtime.until(
            lambda p: any(
                item.startswith("consumer groups:") and "node_registration_orchestrator" in item
                for item in _pending(p)
            ),
            "/ready naming the consumer groups it waits for",
        )
        serving = postgres_serving(postgres_base_dir)
        runtime.signal()
        code = await runtime.exit_code(within=30)
    assert serving, "the embedded PostgreSQL was not running during the start"
    assert code == 128 + signal.SIGTERM
    (aborted,) = runtime.events("start aborted")
    assert aborted["signal"] == "SIGTERM"
    assert postgres_serving(postgres_base_dir) == []
    assert not runtime.events("runtime ready")


async def test_kafka_unreachable_is_named_in_the_log_and_on_ready_never_ready(
    tmp_path: Path,
) -> None:
    """With no broker at the bootstrap servers (and no node subscribing), the runtime starts
    but never logs "runtime ready": it logs that it is not ready naming the servers, and
    /ready is 503 whose bus check names them too."""
    servers = f"127.0.0.1:{free_port()}"
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "postgres": {"mode": "disabled"},
            "event_bus": {"kind": "kafka", "kafka": {"bootstrap_servers": servers}},
        },
    )
    async with spawned(config, tmp_path / "out") as runtime:
        not_ready = await runtime.until_logged("runtime started, not ready")
        probe = await runtime.until(lambda p: p.ready == 503, "/ready 503")
        runtime.signal()
        assert await runtime.exit_code() == 0
    assert any(servers in str(item) for item in not_ready["failing"])  # type: ignore[union-attr]
    body = probe.ready_body or {}
    checks = body.get("checks")
    assert isinstance(checks, list)
    (bus,) = [c for c in checks if c["name"] == "event_bus"]
    assert bus["healthy"] is False
    assert servers in bus["detail"]
    assert not runtime.events("runtime ready")
