"""Scale-out of ``onex-infra run`` on Kafka: N runtimes in one consumer group (``bench_kafka
--consumers N``; not a test).

Each measurement makes a fresh topic of :data:`PARTITIONS` partitions, pre-fills it with
``--messages`` envelopes (raw producer, round robin over the partitions), writes a contract
directory holding one COMPUTE node of a fresh name (so a fresh consumer group) whose handler
records each message's sequence number and the monotonic time it was handled, and spawns
``n`` real ``onex-infra run`` processes on the Kafka profile (production defaults but the
bootstrap servers and ``auto_offset_reset: earliest``) at once. They join one group and split
the partitions; the measurement ends when every message was handled.

Checked every time (the run fails loudly otherwise): the per-process counts add up to the
messages produced, no sequence number is handled twice, none is missing, and every member
handled some (the group split the partitions).

Throughput is wall-clock: **steady** counts the messages handled while every member was
consuming (from the last member's first message to the first member's last one), so boot
skew and the tail do not count; **whole** is messages over first to last handled. A sampler
reads the CPU seconds of every runtime, of the broker (Tansu) and of the whole machine every
20 ms; the CPU over the whole drain is printed per message, and what the other processes of
the machine took beside them. Runs alternate (1, n, n, 1, ...) and the ratio n/1 is taken per
repeat.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench_report import ModelBenchFigure, load_average, load_line, record
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.testing import TansuServer, make_kafka_settings, make_unique_topic

PARTITIONS = 6
TARGET_TWO = 1.5  # issue 17: two runtimes on one group >= 1.5x one runtime
CLI = str(Path(sys.executable).parent / "onex-infra")
SAMPLE_SECONDS = 0.02
DRAIN_TIMEOUT = 180.0

_MODULE = '''
"""bench_kafka --consumers: records "seq monotonic" per handled message, flushed every 50 ms."""

import asyncio
import atexit
import os
import time

from pydantic import BaseModel


class ModelIn(BaseModel):
    seq: int


class ModelOut(BaseModel):
    seq: int


class ProbeHandler:
    def __init__(self, container: object) -> None:
        self._sink = open(os.environ["BENCH_SCALE_OUT"], "a", encoding="utf-8")
        self._seqs: list[int] = []
        self._times: list[float] = []
        self._timer: asyncio.TimerHandle | None = None
        atexit.register(self._flush)

    def _flush(self) -> None:
        self._timer = None
        lines = "".join(f"{s} {t:.6f}\\n" for s, t in zip(self._seqs, self._times))
        self._seqs.clear()
        self._times.clear()
        self._sink.write(lines)
        self._sink.flush()

    async def handle(self, context: object) -> None:
        self._seqs.append(context.payload.seq)
        self._times.append(time.monotonic())
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(0.05, self._flush)
        return None
'''

_CONTRACT = """
name: {name}
contract_version: {{major: 1, minor: 0, patch: 0}}
description: Records every message it handles.
node_type: COMPUTE_GENERIC
input_model: bench_scale_probe.ModelIn
output_model: bench_scale_probe.ModelOut
performance:
  single_operation_max_ms: 50
algorithm:
  algorithm_type: weighted_sum
  factors:
    seq: {{weight: 1.0, calculation_method: linear}}
event_bus:
  version: {{major: 1, minor: 0, patch: 0}}
  subscribe_topics: [{topic}]
handler_routing:
  version: {{major: 1, minor: 0, patch: 0}}
  handlers:
    - handler: {{name: ProbeHandler, module: bench_scale_probe}}
      topic: {topic}
"""


class ScaleOutError(RuntimeError):
    """The group lost, duplicated or failed to split the messages, or a runtime failed."""


@dataclass
class Drain:
    """One measurement: n runtimes draining a pre-filled topic."""

    consumers: int
    counts: list[int]
    steady: float  # msg/s while every member consumed
    whole: float  # msg/s first to last handled
    seconds: float  # first to last handled
    cpu: list[float]  # CPU seconds of each runtime over the drain
    broker_cpu: float
    machine_cpu: float  # CPU seconds of the whole machine over the drain

    @property
    def runtime_cpu(self) -> float:
        return sum(self.cpu)

    @property
    def others_cpu(self) -> float:
        """CPU the rest of the machine (other users, this benchmark) took meanwhile."""
        return max(0.0, self.machine_cpu - self.runtime_cpu - self.broker_cpu)


@dataclass
class _Sampler:
    """CPU seconds of some processes and of the machine, sampled on a thread."""

    pids: list[int]
    samples: list[tuple[float, list[float], float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        processes = [psutil.Process(pid) for pid in self.pids]

        def sample() -> None:
            while not self._stop.is_set():
                now = time.monotonic()
                cpus = []
                for process in processes:
                    try:
                        times = process.cpu_times()
                        cpus.append(times.user + times.system)
                    except psutil.Error:  # exited: keep its last figure
                        cpus.append(self.samples[-1][1][len(cpus)] if self.samples else 0.0)
                machine = psutil.cpu_times()
                busy = machine.user + machine.system + machine.nice + machine.irq
                self.samples.append((now, cpus, busy + machine.softirq + machine.steal))
                self._stop.wait(SAMPLE_SECONDS)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def between(self, start: float, end: float) -> tuple[list[float], float]:
        """Each process's and the machine's CPU seconds from ``start`` to ``end``."""
        first, last = self._at(start), self._at(end)
        return [b - a for a, b in zip(first[0], last[0], strict=True)], last[1] - first[1]

    def _at(self, moment: float) -> tuple[list[float], float]:
        """The sample nearest before ``moment`` (the first one if none is)."""
        chosen = self.samples[0]
        for sample in self.samples:
            if sample[0] > moment:
                break
            chosen = sample
        return chosen[1], chosen[2]


def _prefill(settings: ModelKafkaSettings, count: int) -> str:
    """A fresh topic of PARTITIONS partitions holding ``count`` envelopes, seq 0..count-1."""
    topic = make_unique_topic(event="scale")
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(timeout=30)
    producer = Producer(settings.producer_config())
    for i in range(count):
        value = (
            JsonEnvelope(payload={"seq": i}, payload_type="ModelIn")
            .model_dump_json(exclude_none=True)
            .encode()
        )
        while True:
            try:
                producer.produce(topic, value, str(i % 64).encode(), partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    if producer.flush(60):
        raise ScaleOutError("the pre-fill was not acknowledged within 60 s")
    return topic


def _write_node(work: Path, index: int, topic: str, servers: str) -> Path:
    """A contract directory of one probe node named for ``index`` (a fresh consumer group)."""
    name = f"bench_scale_{index:03d}_compute"
    node = work / f"contracts-{index:03d}" / f"node_{name}"
    node.mkdir(parents=True)
    (node / "contract.yaml").write_text(_CONTRACT.format(name=name, topic=topic))
    config = work / f"runtime-{index:03d}.json"
    config.write_text(
        json.dumps(
            {
                "use_entry_points": False,
                "contract_dirs": [str(node.parent)],
                "plugin_allowlist": ["bench_scale_probe"],
                "http": {"enabled": False},
                "postgres": {"mode": "disabled"},
                "event_bus": {
                    "kind": "kafka",
                    "auto_offset_reset": "earliest",
                    "kafka": {"bootstrap_servers": servers},
                },
            }
        )
    )
    return config


def _read(out: Path) -> list[tuple[int, float]]:
    if not out.exists():
        return []
    rows = []
    for line in out.read_text(encoding="utf-8").splitlines():
        seq, moment = line.split()
        rows.append((int(seq), float(moment)))
    return rows


def _count(outs: list[Path]) -> int:
    total = 0
    for out in outs:
        if out.exists():
            with out.open("rb") as handle:
                total += sum(1 for _ in handle)
    return total


def _wait_ready(runtimes: list[subprocess.Popen[bytes]], logs: list[Path], deadline: float) -> None:
    """Wait until every runtime logged that it is ready (its start is over)."""
    for runtime, log in zip(runtimes, logs, strict=True):
        while b'"runtime ready"' not in log.read_bytes():
            if runtime.poll() is not None or time.monotonic() > deadline:
                raise ScaleOutError(
                    f"runtime not ready (exit {runtime.returncode}); log tail:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.05)


def drain(work: Path, index: int, consumers: int, count: int, broker: TansuServer) -> Drain:
    """Spawn ``consumers`` runtimes at once on a pre-filled topic; measure until all handled."""
    assert broker.pid is not None
    topic = _prefill(make_kafka_settings(broker.bootstrap_servers), count)
    config = _write_node(work, index, topic, broker.bootstrap_servers)
    outs = [work / f"handled-{index:03d}-{i}.txt" for i in range(consumers)]
    logs = [work / f"runtime-{index:03d}-{i}.log" for i in range(consumers)]
    runtimes: list[subprocess.Popen[bytes]] = []
    for out, log in zip(outs, logs, strict=True):
        env = {
            **os.environ,
            "PYTHONPATH": str(work),
            "BENCH_SCALE_OUT": str(out),
            "HOME": str(work),
            "ONEX_INGRESS__PORT": "0",
            "ONEX_DASHBOARD__PORT": "0",
        }
        with log.open("wb") as sink:
            runtimes.append(
                subprocess.Popen(  # noqa: S603 - our own CLI
                    [CLI, "run", "--config", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=sink,
                    env=env,
                )
            )
    sampler = _Sampler([r.pid for r in runtimes] + [broker.pid])
    sampler.start()
    try:
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while _count(outs) < count:
            for runtime, log in zip(runtimes, logs, strict=True):
                if runtime.poll() is not None:
                    raise ScaleOutError(
                        f"runtime exited {runtime.returncode} mid-drain; log tail:\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
            if time.monotonic() > deadline:
                raise ScaleOutError(
                    f"{_count(outs)} of {count} handled after {DRAIN_TIMEOUT:.0f} s"
                )
            time.sleep(0.05)
        time.sleep(0.3)  # anything handled twice lands in the files too
        # A runtime joins its groups early and may drain the topic before its start is over;
        # SIGTERM then would abort the start (exit 128+15), not stop a started runtime.
        _wait_ready(runtimes, logs, deadline)
    finally:
        sampler.stop()
        for runtime in runtimes:
            if runtime.poll() is None:
                runtime.send_signal(signal.SIGTERM)
        for runtime in runtimes:
            try:
                runtime.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runtime.kill()
                runtime.wait()
    codes = [r.returncode for r in runtimes]
    if any(codes):
        raise ScaleOutError(f"runtimes exited {codes} after SIGTERM (expected all 0)")
    return _measure(consumers, count, [_read(out) for out in outs], sampler)


def _measure(
    consumers: int, count: int, handled: list[list[tuple[int, float]]], sampler: _Sampler
) -> Drain:
    """The figures of one drain, after checking every message was handled exactly once."""
    counts = [len(rows) for rows in handled]
    seqs = [seq for rows in handled for seq, _ in rows]
    duplicates = len(seqs) - len(set(seqs))
    missing = count - len(set(seqs) & set(range(count)))
    if sum(counts) != count or duplicates or missing:
        raise ScaleOutError(
            f"{consumers} runtimes handled {counts} (sum {sum(counts)}) of {count} produced: "
            f"{duplicates} handled twice, {missing} missing"
        )
    if consumers <= PARTITIONS and not all(counts):
        raise ScaleOutError(f"the group did not split the partitions: per runtime {counts}")
    firsts = [min(t for _, t in rows) for rows in handled]
    lasts = [max(t for _, t in rows) for rows in handled]
    start, end = min(firsts), max(lasts)
    window_start, window_end = max(firsts), min(lasts)
    in_window = sum(1 for rows in handled for _, t in rows if window_start <= t <= window_end)
    steady = in_window / (window_end - window_start) if window_end > window_start else 0.0
    cpu, machine = sampler.between(start, end)
    return Drain(
        consumers=consumers,
        counts=counts,
        steady=steady,
        whole=count / (end - start),
        seconds=end - start,
        cpu=cpu[:-1],
        broker_cpu=cpu[-1],
        machine_cpu=machine,
    )


def _line(run: Drain, count: int) -> str:
    per_runtime = ", ".join(f"{c:.2f}" for c in run.cpu)
    return (
        f"n={run.consumers} steady {run.steady:8.0f} msg/s, whole {run.whole:8.0f} msg/s "
        f"({run.seconds:.2f} s); handled per runtime {run.counts}; CPU s: runtimes "
        f"[{per_runtime}] ({run.runtime_cpu / count * 1e6:.0f} us/msg), broker "
        f"{run.broker_cpu:.2f} ({run.broker_cpu / count * 1e6:.0f} us/msg), rest of the "
        f"machine {run.others_cpu:.2f}"
    )


def _spread(values: list[float], digits: int = 0) -> str:
    low, mid, high = (
        f"{v:,.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )
    return f"{mid} ({low}-{high})"


def main(consumers: int, count: int, repeats: int) -> None:
    """Measure 1 and ``consumers`` runtimes interleaved, print and record the figures."""
    if consumers < 2:
        raise SystemExit("--consumers must be at least 2 (it is compared with one runtime)")
    load_before = load_average()
    print(f"before: {load_line()}")
    work = Path(tempfile.mkdtemp(prefix="onex-bench-kafka-scale-"))
    (work / "bench_scale_probe.py").write_text(_MODULE)
    runs: dict[int, list[Drain]] = {1: [], consumers: []}
    try:
        with TansuServer() as broker:
            index = 0
            drain(work, index, 1, min(count, 2000), broker)  # warm-up: bytecode, broker
            for repeat in range(repeats):
                order = [1, consumers] if repeat % 2 == 0 else [consumers, 1]
                for n in order:
                    index += 1
                    run = drain(work, index, n, count, broker)
                    runs[n].append(run)
                    print(f"run {repeat} {_line(run, count)}", flush=True)
    except ScaleOutError as exc:
        raise SystemExit(f"FAILED: {exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"after: {load_line()}")
    _report(consumers, count, repeats, runs, load_before)


def _report(
    consumers: int, count: int, repeats: int, runs: dict[int, list[Drain]], load_before: float
) -> None:
    one, many = runs[1], runs[consumers]
    ratios = [m.steady / o.steady for o, m in zip(one, many, strict=True)]
    whole_ratios = [m.whole / o.whole for o, m in zip(one, many, strict=True)]
    per_msg = [sum(r.cpu) / count for r in one]
    broker_per_msg = [r.broker_cpu / count for r in one + many]
    cores = os.cpu_count() or 1
    c_r, c_b = statistics.median(per_msg), statistics.median(broker_per_msg)
    single = statistics.median(o.steady for o in one)
    busy = statistics.median(sum(o.cpu) / o.seconds for o in one)
    print(f"\n{count} messages on {PARTITIONS} partitions x {repeats} repeats, medians (min-max):")
    for n, label in ((1, "1 runtime"), (consumers, f"{consumers} runtimes")):
        rows = runs[n]
        print(
            f"  {label:11s} steady {_spread([r.steady for r in rows])} msg/s, whole "
            f"{_spread([r.whole for r in rows])} msg/s; runtime CPU "
            f"{_spread([r.runtime_cpu for r in rows], 2)} s, broker "
            f"{_spread([r.broker_cpu for r in rows], 2)} s, rest of the machine "
            f"{_spread([r.others_cpu for r in rows], 2)} s"
        )
    print(
        f"{consumers} runtimes / 1 runtime: steady {_spread(ratios, 2)}, whole "
        f"{_spread(whole_ratios, 2)}; target (2 runtimes) >= {TARGET_TWO}"
    )
    print(
        f"CPU per message: runtime {c_r * 1e6:.0f} us, broker {c_b * 1e6:.0f} us; one runtime "
        f"kept {busy:.2f} cores busy. On this {cores}-core machine the CPU-bound ceiling is "
        f"{cores / (c_r + c_b):,.0f} msg/s whatever the runtimes."
    )
    for n in (1, 2, 4, 8):
        # Each runtime as fast as alone, on cores of its own, the broker on the rest.
        needed = n * busy + n * single * c_b
        print(
            f"  projected with cores to spare: {n} runtime(s) ~{n * single:,.0f} msg/s, needing "
            f"~{needed:.1f} cores ({n * busy:.1f} runtimes + {n * single * c_b:.1f} broker)"
        )
    ratio = statistics.median(ratios)
    figures = [
        ModelBenchFigure(
            what=f"Kafka scale-out: {consumers} `onex-infra run` in one group on {PARTITIONS} "
            f"partitions draining {count:,} messages, throughput of one runtime "
            f"(`--consumers {consumers}`; exactly once checked)",
            measured=f"**{ratio:.2f}** ({min(ratios):.2f}-{max(ratios):.2f}); CPU/msg runtime "
            f"{c_r * 1e6:.0f} us, broker {c_b * 1e6:.0f} us on {cores} shared cores",
            baseline=f"1 runtime {single:,.0f} msg/s",
            target=f">= {TARGET_TWO} (2 runtimes)" if consumers == 2 else None,
            met=ratio >= TARGET_TWO if consumers == 2 else None,
        )
    ]
    record("bench_kafka.consumers", load_before, figures)
