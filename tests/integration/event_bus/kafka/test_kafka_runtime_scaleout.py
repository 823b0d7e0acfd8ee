"""Scale-out of `onex-infra run`: runtimes in one consumer group share its partitions.

Runtime processes load the same node (a COMPUTE contract whose handler appends each message's
sequence number to a file of its process) with the Kafka bus of the production profile's
settings, while messages are published:

- three runtimes, one killed with SIGKILL mid-stream: every message is still handled;
- one runtime, a second joining mid-stream (a rebalance while the first is delivering): the
  partitions are split and every message is handled exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.testing import TopicFactory, eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 400
RUNTIMES = 3

_HANDLER = '''
"""Scale-out probe: appends each message's sequence number to $SCALEOUT_OUT."""

import asyncio
import os


class ProbeHandler:
    def __init__(self, container: object) -> None:
        self._sink = open(os.environ["SCALEOUT_OUT"], "a", encoding="utf-8")

    async def handle(self, context: object) -> None:
        await asyncio.sleep(0.004)  # some work, so the kill lands mid-stream
        # The contract's one catch-all route is typed by its input_model (ModelIn).
        self._sink.write(f"{context.payload.seq}\\n")
        self._sink.flush()
        return None
'''

_CONTRACT = """
name: {name}
contract_version: {{major: 1, minor: 0, patch: 0}}
description: Records every message it handles.
node_type: COMPUTE_GENERIC
input_model: scaleout_probe.ModelIn
output_model: scaleout_probe.ModelOut
performance:
  single_operation_max_ms: 50
algorithm:
  algorithm_type: weighted_sum
  factors:
    seq: {{weight: 1.0, calculation_method: linear}}
event_bus:
  version: {{major: 1, minor: 0, patch: 0}}
  subscribe_topics:
    - {topic}
handler_routing:
  version: {{major: 1, minor: 0, patch: 0}}
  routing_strategy: payload_type_match
  handlers:
    - handler: {{name: ProbeHandler, module: scaleout_probe}}
      topic: {topic}
"""


def _config(settings: ModelKafkaSettings, contracts: Path) -> dict[str, object]:
    return {
        "use_entry_points": False,
        "contract_dirs": [str(contracts)],
        "plugin_allowlist": ["scaleout_probe"],
        "http": {"enabled": False},
        "postgres": {"mode": "disabled"},
        "event_bus": {
            "kind": "kafka",
            "auto_offset_reset": "earliest",
            "kafka": {
                "bootstrap_servers": settings.bootstrap_servers,
                "session_timeout_ms": settings.session_timeout_ms,
                "heartbeat_interval_ms": settings.heartbeat_interval_ms,
                "fetch_wait_max_ms": settings.fetch_wait_max_ms,
                "max_batch": 20,
            },
        },
    }


def _node(settings: ModelKafkaSettings, topic: str, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """Write the probe node's module, contract and runtime config; (config, module dir).

    Each test names its node (so its consumer group) for itself: a group reused right after
    all its members left was seen to hold a new member's join for over 90 s on Tansu.
    """
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "scaleout_probe.py").write_text(
        _HANDLER
        + "\n\nfrom pydantic import BaseModel\n\n\nclass ModelIn(BaseModel):\n    seq: int\n\n\n"
        "class ModelOut(BaseModel):\n    seq: int\n",
        encoding="utf-8",
    )
    contracts = tmp_path / "contracts" / f"node_{name}"
    contracts.mkdir(parents=True)
    (contracts / "contract.yaml").write_text(
        _CONTRACT.format(topic=topic, name=name), encoding="utf-8"
    )
    config = tmp_path / "runtime.yaml"
    config.write_text(json.dumps(_config(settings, contracts.parent)), encoding="utf-8")
    return config, modules


async def _stop(
    runtimes: list[asyncio.subprocess.Process], drains: list[asyncio.Task[None]]
) -> None:
    """SIGTERM every runtime still running (SIGKILL after 30 s) and finish reading its log."""
    for runtime in runtimes:
        if runtime.returncode is None:
            os.kill(runtime.pid, signal.SIGTERM)
    for runtime in runtimes:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.wait(), 30)
        if runtime.returncode is None:
            os.kill(runtime.pid, signal.SIGKILL)
            await runtime.wait()
    await asyncio.gather(*drains, return_exceptions=True)


def _handled(outs: list[Path]) -> list[str]:
    return [
        line
        for out in outs
        if out.exists()
        for line in out.read_text(encoding="utf-8").splitlines()
        if line
    ]


async def _start_runtime(
    config: Path, out: Path, modules: Path, tmp_path: Path, drains: list[asyncio.Task[None]]
) -> asyncio.subprocess.Process:
    """Start `onex-infra run` and return once it logged "runtime ready"."""
    env = {
        **os.environ,
        "PYTHONPATH": str(modules),
        "SCALEOUT_OUT": str(out),
        "HOME": str(tmp_path),
        "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
        "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "onex-infra"),
        "run",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stderr is not None
    log: list[bytes] = []
    try:
        async with asyncio.timeout(90):
            while True:
                line = await process.stderr.readline()
                assert line, f"runtime exited with {await process.wait()} before it was ready"
                log.append(line)
                if b'"runtime ready"' in line:
                    break
    except TimeoutError:
        process.kill()
        await process.wait()
        tail = b"".join(log[-15:]).decode(errors="replace")
        raise AssertionError(f"runtime not ready after 90 s; its log ends:\n{tail}") from None
    # Keep draining its log so a full pipe never blocks it.
    drains.append(asyncio.create_task(_drain(process)))
    return process


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.readline():
        pass


async def test_killed_runtime_loses_no_message(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory, tmp_path: Path
) -> None:
    """Three runtimes share the node's partitions; after kill -9 of one, all are handled."""
    topic = unique_topic()
    config, modules = _node(kafka_settings, topic, tmp_path, "scaleout_probe_compute")
    outs = [tmp_path / f"runtime-{i}.txt" for i in range(RUNTIMES)]
    publisher = EventBusKafka(kafka_settings)
    await publisher.start()
    runtimes: list[asyncio.subprocess.Process] = []
    drains: list[asyncio.Task[None]] = []
    expected = {str(i) for i in range(MESSAGES)}
    try:
        for out in outs:
            runtimes.append(await _start_runtime(config, out, modules, tmp_path, drains))
        for i in range(MESSAGES):
            envelope = JsonEnvelope(payload={"seq": i}, payload_type="ModelIn")
            await publisher.publish_envelope(envelope, topic, str(i).encode())
            if i == MESSAGES // 3:
                await eventually(lambda: _handled(outs[:1]), timeout=60)
                os.kill(runtimes[0].pid, signal.SIGKILL)
                await runtimes[0].wait()
        await eventually(lambda: expected <= set(_handled(outs)), timeout=120)
    finally:
        await _stop(runtimes, drains)
        await publisher.close()
    handled = _handled(outs)
    counts = [len(_handled([out])) for out in outs]
    print(f"per runtime {counts}, duplicates {len(handled) - len(set(handled))}")
    assert expected - set(handled) == set()
    assert counts[0] > 0  # the killed runtime was consuming
    assert runtimes[0].returncode == -signal.SIGKILL
    assert all(r.returncode == 0 for r in runtimes[1:])  # the others stopped cleanly


async def test_second_runtime_joining_mid_stream_splits_exactly_once(
    kafka_settings: ModelKafkaSettings, unique_topic: TopicFactory, tmp_path: Path
) -> None:
    """A runtime joining a group whose member is delivering takes over some partitions, and
    no message is handled twice or lost across that rebalance (graceful handover)."""
    topic = unique_topic()
    config, modules = _node(kafka_settings, topic, tmp_path, "scaleout_join_probe_compute")
    outs = [tmp_path / f"runtime-{i}.txt" for i in range(2)]
    publisher = EventBusKafka(kafka_settings)
    await publisher.start()
    runtimes: list[asyncio.subprocess.Process] = []
    drains: list[asyncio.Task[None]] = []
    joined = asyncio.Event()

    async def publish() -> int:
        # A steady stream the whole time the second runtime boots and joins (so the first one
        # is delivering through the rebalance), then MESSAGES more with both in the group.
        sent, last = 0, None
        while last is None or sent < last:
            envelope = JsonEnvelope(payload={"seq": sent}, payload_type="ModelIn")
            await publisher.publish_envelope(envelope, topic, str(sent).encode())
            sent += 1
            if last is None and joined.is_set():
                last = sent + MESSAGES
            await asyncio.sleep(0.002)
        return sent

    try:
        runtimes.append(await _start_runtime(config, outs[0], modules, tmp_path, drains))
        publishing = asyncio.create_task(publish())
        await eventually(lambda: len(_handled(outs[:1])) >= 50, timeout=60)
        runtimes.append(await _start_runtime(config, outs[1], modules, tmp_path, drains))
        joined.set()
        total = await publishing
        await eventually(lambda: len(_handled(outs)) >= total, timeout=120)
    finally:
        await _stop(runtimes, drains)
        await publisher.close()
    handled = _handled(outs)
    counts = [len(_handled([out])) for out in outs]
    assert sorted(handled, key=int) == [str(i) for i in range(total)], counts
    assert all(counts), counts  # the group split the partitions between both
    assert [r.returncode for r in runtimes] == [0, 0]
