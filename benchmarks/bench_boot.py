"""Boot to ready and idle memory of ``onex-infra run``, against bare baselines (not a test).

    .venv/bin/python benchmarks/bench_boot.py [--repeats 5] [--profile local|kafka|all]

``--profile local`` (the default) — each repeat spawns, interleaved:

- **baseline**: ``python -c "import omnibase_core.container"`` (spawn to exit), the bare cost
  of the interpreter plus the core package every runtime needs;
- **local profile**: ``onex-infra run`` with the default configuration (in-memory bus, an
  embedded PostgreSQL in a data directory made by a warm-up run, migrations, the package's
  registration nodes, local discovery), spawn to the first 200 on ``/ready``;
- **postgres disabled**: ``onex-infra run`` with ``postgres.mode: disabled`` and two idle test
  nodes (an orchestrator and an effect from ``tests/integration/runtime_testnodes/drain``)
  instead of the package's registration nodes, which need PostgreSQL.

Run it with the environment ``scripts/env.sh`` made: it compiles bytecode at install, and
without bytecode (uv's default, with ``PYTHONDONTWRITEBYTECODE`` set) every process compiles
core's modules again, about doubling the boot; the first line says which case this is.
``/ready`` is polled every 5 ms on a port chosen beforehand. Idle RSS is read one second after
ready: the runtime's own process, and with its children (the embedded PostgreSQL). Every
runtime is stopped with SIGTERM and must exit 0. Medians over repeats with min-max; the ratio
is boot time over the baseline's time.

``--profile kafka`` starts a Tansu broker (the test kit's launcher, a free port) and spawns,
interleaved, each repeat:

- **kafka baseline**: a Python process that imports confluent-kafka and joins as many consumer
  groups as the runtime variant does, all at once, each one consumer on fresh 4-partition
  topics with the runtime's default group settings, spawn to the last assignment: the bare
  cost of the joins (on Tansu a join is held for half the session timeout);
- **kafka, package nodes**: ``onex-infra run`` on the Kafka bus with an embedded PostgreSQL and
  the package's nodes (the groups of the registration orchestrator and the PostgreSQL adapter,
  each with its retry group), spawn to the first 200 on ``/ready``; also the first 200 on
  ``/health`` and the time SIGTERM takes to exit (the stop, against the default 10 s grace
  period);
- **kafka, +20 subscriptions**: the same plus a contract directory of 20 generated test nodes,
  each subscribing to a topic of its own (20 more groups and 20 more retry groups).

The number of groups each baseline joins is read from the runtime's own log (its ``consumer
groups`` boot phase, in the warm-up run), so the baseline always joins as many as the runtime.

The machine's load average is printed before and after: on a shared machine absolute times
move with it; the ratios, measured in the same run, move less. The Kafka profile records its run
in ``benchmarks/results/bench_boot.json`` (``bench_report``) for the README's measured table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from bench_report import ModelBenchFigure, load_average, record
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.testing import TansuServer

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "onex-infra")
TEST_NODES = ROOT / "tests" / "integration"
TARGET_SECONDS = 2.0
TARGET_RSS_MB = 120.0
KAFKA_TARGETS = {"kafka, package nodes": 5.0, "kafka, +20 subscriptions": 10.0}
GRACE_SECONDS = 10.0  # the runtime's default stop grace period
PROBES = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def baseline() -> float:
    """Seconds to spawn Python, import omnibase_core.container and exit."""
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", "import omnibase_core.container"], check=True)  # noqa: S603
    return time.perf_counter() - started


def boot(config: Path, env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """(seconds to the first 200 on /ready, own RSS MB, RSS MB with children) of one run."""
    port = _free_port()
    with log.open("ab") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [CLI, "run", "--config", str(config), "--http-port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=env,
        )
    try:
        seconds = _wait_ready(process, port, started)
        time.sleep(1.0)
        own = psutil.Process(process.pid)
        rss = own.memory_info().rss
        children = sum(child.memory_info().rss for child in own.children(recursive=True))
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    if code != 0:
        raise RuntimeError(f"runtime exited {code} after SIGTERM")
    return seconds, rss / 2**20, (rss + children) / 2**20


def _wait_ready(process: subprocess.Popen[bytes], port: int, started: float) -> float:
    url = f"http://127.0.0.1:{port}/ready"
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"runtime exited with {process.returncode} before ready")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 60:
                raise RuntimeError("runtime not ready after 60 s")
            time.sleep(0.005)


def timed_run(config: Path, env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """(seconds to the first 200 on /health, on /ready, SIGTERM to exit) of one run."""
    port = _free_port()
    with log.open("ab") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [CLI, "run", "--config", str(config), "--http-port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=env,
        )
    try:
        health = _wait_status(process, f"http://127.0.0.1:{port}/health", started)
        ready = _wait_status(process, f"http://127.0.0.1:{port}/ready", started)
    finally:
        signalled = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        stop = time.perf_counter() - signalled
    if code != 0:
        raise RuntimeError(f"runtime exited {code} after SIGTERM")
    return health, ready, stop


def _wait_status(process: subprocess.Popen[bytes], url: str, started: float) -> float:
    with httpx.Client(timeout=5.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"runtime exited with {process.returncode} before {url}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 90:
                raise RuntimeError(f"no 200 on {url} after 90 s")
            time.sleep(0.005)


# Joins ``groups`` consumer groups at once, one consumer each on a topic of its own, and exits
# once every one has its assignment (rebalance callbacks are served by poll, round robin).
_JOIN_SCRIPT = """
import sys, time
from confluent_kafka import Consumer
servers, prefix, groups, session, heartbeat = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
assigned = set()
consumers = []
for i in range(groups):
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"{prefix}-{i}",
        "enable.auto.commit": False, "session.timeout.ms": session,
        "heartbeat.interval.ms": heartbeat, "log_level": 0})
    consumer.subscribe([f"onex.evt.bench.{prefix}-{i}.v1"],
        on_assign=lambda c, p, i=i: assigned.add(i))
    consumers.append(consumer)
deadline = time.monotonic() + 90
while len(assigned) < groups and time.monotonic() < deadline:
    for consumer in consumers:
        consumer.poll(0.01)
for consumer in consumers:
    consumer.close()
sys.exit(0 if len(assigned) == groups else 1)
"""


def kafka_baseline(servers: str, prefix: str, groups: int) -> float:
    """Seconds to spawn Python, join ``groups`` groups at once with raw consumers, and exit."""
    settings = ModelKafkaSettings()
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own script
        [
            PYTHON,
            "-c",
            _JOIN_SCRIPT,
            servers,
            prefix,
            str(groups),
            str(settings.session_timeout_ms),
            str(settings.heartbeat_interval_ms),
        ],
        check=True,
    )
    return time.perf_counter() - started


def _create_topics(servers: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": servers, "log_level": 0})
    for future in admin.create_topics([NewTopic(name, 4, 1) for name in names]).values():
        with contextlib.suppress(KafkaException):  # it exists already
            future.result(timeout=30)


_PROBE_MODULE = """
\"\"\"Idle probe nodes of bench_boot: they only subscribe.\"\"\"
from pydantic import BaseModel


class ModelProbe(BaseModel):
    seq: int


class HandlerProbe:
    def __init__(self, container: object) -> None:
        pass

    async def handle(self, context: object) -> None:
        return None
"""

_PROBE_CONTRACT = """
name: bench_probe_{index:02d}_compute
contract_version: {{major: 1, minor: 0, patch: 0}}
description: Subscribes and does nothing.
node_type: COMPUTE_GENERIC
input_model: bench_probe.ModelProbe
output_model: bench_probe.ModelProbe
performance:
  single_operation_max_ms: 50
algorithm:
  algorithm_type: weighted_sum
  factors:
    seq: {{weight: 1.0, calculation_method: linear}}
event_bus:
  version: {{major: 1, minor: 0, patch: 0}}
  subscribe_topics: [onex.evt.bench.probe-{index:02d}.v1]
handler_routing:
  version: {{major: 1, minor: 0, patch: 0}}
  handlers:
    - handler: {{name: HandlerProbe, module: bench_probe}}
      topic: onex.evt.bench.probe-{index:02d}.v1
"""


def _kafka_configs(work: Path, servers: str) -> dict[str, tuple[Path, dict[str, str]]]:
    """The Kafka variants: config and environment."""
    (work / "bench_probe.py").write_text(_PROBE_MODULE)
    probes = work / "probes"
    for index in range(PROBES):
        node = probes / f"node_bench_probe_{index:02d}_compute"
        node.mkdir(parents=True)
        (node / "contract.yaml").write_text(_PROBE_CONTRACT.format(index=index))
    base: dict[str, object] = {
        "postgres": {"data_dir": str(work / "pg-kafka")},
        "event_bus": {"kind": "kafka", "kafka": {"bootstrap_servers": servers}},
        "ingress": {"port": 0},  # any free port: 8083 may be another runtime's
    }
    package = work / "kafka.yaml"
    package.write_text(yaml.safe_dump(base))
    more = work / "kafka-probes.yaml"
    more.write_text(
        yaml.safe_dump(
            {**base, "contract_dirs": [str(probes)], "plugin_allowlist": ["bench_probe"]}
        )
    )
    env = {**os.environ, "HOME": str(work), "PYTHONPATH": str(work)}
    return {"kafka, package nodes": (package, env), "kafka, +20 subscriptions": (more, env)}


def _joined_groups(log: Path) -> int:
    """How many consumer groups the last runtime in ``log`` joined (its ``consumer groups``
    boot phase), so the baseline joins as many as the runtime really does."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("phase") == "consumer groups":
                return int(entry["groups"])
    raise RuntimeError("the runtime logged no 'consumer groups' boot phase")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main_kafka(repeats: int) -> None:
    """Warm up, run the Kafka variants and their baselines interleaved, print the table."""
    work = Path(tempfile.mkdtemp(prefix="onex-bench-boot-kafka-"))
    log = work / "runtime.log"
    print(f"python {sys.version.split()[0]}, site-packages bytecode: {_bytecode_state()}")
    print(f"before: {_load()}")
    load_before = load_average()
    try:
        with TansuServer() as broker:
            servers = broker.bootstrap_servers
            configs = _kafka_configs(work, servers)
            variants: dict[str, tuple[Path, dict[str, str], int]] = {}
            for name, (config, env) in list(configs.items()):
                timed_run(config, env, log)  # warm-up: initdb, topics, new groups
                groups = _joined_groups(log)  # as many as the runtime joined, by its log
                variants[name] = (config, env, groups)
                prefix = f"base{groups}"
                _create_topics(servers, [f"onex.evt.bench.{prefix}-{i}.v1" for i in range(groups)])
                kafka_baseline(servers, prefix, groups)  # warm-up: new groups
            results: dict[str, dict[str, list[float]]] = {
                name: {"base": [], "health": [], "ready": [], "stop": []} for name in variants
            }
            for repeat in range(repeats):
                names = list(variants) if repeat % 2 == 0 else list(variants)[::-1]
                for name in names:
                    config, env, groups = variants[name]
                    row = results[name]
                    row["base"].append(kafka_baseline(servers, f"base{groups}", groups))
                    health, ready, stop = timed_run(config, env, log)
                    row["health"].append(health)
                    row["ready"].append(ready)
                    row["stop"].append(stop)
                print(
                    f"  repeat {repeat + 1}/{repeats}: "
                    + ", ".join(
                        f"{n} {r['ready'][-1]:.2f}s (baseline {r['base'][-1]:.2f}s)"
                        for n, r in results.items()
                    ),
                    flush=True,
                )
        print(f"after: {_load()}")
        print()
        print(f"boot to /ready on Kafka (Tansu), {repeats} repeats (median, min-max)")
        for name, row in results.items():
            groups = variants[name][2]
            ratios = [r / b for r, b in zip(row["ready"], row["base"], strict=True)]
            print(
                f"  {name:26} /ready {_spread(row['ready'], 's')}, /health "
                f"{_spread(row['health'], 's')}, stop {_spread(row['stop'], 's')}; "
                f"baseline ({groups} raw groups at once) {_spread(row['base'], 's')}; "
                f"x{statistics.median(ratios):.2f} of baseline"
            )
        print()
        for name, target in KAFKA_TARGETS.items():
            seconds = statistics.median(results[name]["ready"])
            stop = max(results[name]["stop"])
            print(
                f"targets ({name}): boot <= {target:.0f}s: "
                f"{'met' if seconds <= target else 'MISSED'} ({seconds:.2f}s); stop <= grace "
                f"10s: {'met' if stop <= 10 else 'MISSED'} (slowest {stop:.2f}s)"
            )
        figures = [
            _kafka_figure(name, results[name], variants[name][2], target)
            for name, target in KAFKA_TARGETS.items()
        ]
        record("bench_boot.kafka", load_before, figures)
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(f"{exc}\n--- runtime log (tail) ---\n{tail}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _kafka_figure(
    name: str, row: dict[str, list[float]], groups: int, target: float
) -> ModelBenchFigure:
    """One Kafka variant's row for the README's measured table."""
    ratios = [r / b for r, b in zip(row["ready"], row["base"], strict=True)]
    met = statistics.median(row["ready"]) <= target and max(row["stop"]) <= GRACE_SECONDS
    return ModelBenchFigure(
        what=f"boot to /ready on Kafka (Tansu), {name.removeprefix('kafka, ')} "
        f"({groups} consumer groups), spawn to the first 200 (`--profile kafka`)",
        measured=f"**{_spread(row['ready'], ' s')}**, x{statistics.median(ratios):.2f} of the "
        f"baseline; /health {_spread(row['health'], ' s')}; stop {_spread(row['stop'], ' s')}",
        baseline=f"{groups} raw groups joined at once {_spread(row['base'], ' s')}",
        target=f"<= {target:.0f} s; stop <= {GRACE_SECONDS:.0f} s grace",
        met=met,
    )


def _local_figures(
    times: dict[str, list[float]], rss: dict[str, list[float]]
) -> list[ModelBenchFigure]:
    """The local profile's rows: boot to /ready against importing core's container, idle RSS."""
    base = statistics.median(times["baseline"])
    figures: list[ModelBenchFigure] = []
    for name in rss:
        seconds, memory = statistics.median(times[name]), statistics.median(rss[name])
        ratios = [t / b for t, b in zip(times[name], times["baseline"], strict=True)]
        figures.append(
            ModelBenchFigure(
                what=f"boot to /ready, {name}; idle RSS",
                measured=f"**{_spread(times[name], ' s')}**, x{statistics.median(ratios):.2f} "
                f"of the baseline; **{memory:.0f} MB**",
                baseline=f"import omnibase_core.container {base:.2f} s",
                target=f"<= {TARGET_SECONDS:g} s, <= {TARGET_RSS_MB:.0f} MB",
                met=seconds <= TARGET_SECONDS and memory <= TARGET_RSS_MB,
            )
        )
    return figures


def _bytecode_state() -> str:
    """Whether core's modules have compiled bytecode in this environment."""
    import omnibase_core

    package = Path(omnibase_core.__file__).parent
    cached = any(package.joinpath("__pycache__").glob("*.pyc"))
    return "compiled" if cached else "NOT compiled (run scripts/env.sh, or expect ~2x)"


def _configs(work: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    local = work / "local.yaml"
    local.write_text(yaml.safe_dump({"postgres": {"data_dir": str(work / "pg")}}))
    disabled = work / "disabled.yaml"
    disabled.write_text(
        yaml.safe_dump(
            {
                "postgres": {"mode": "disabled"},
                "use_entry_points": False,
                "contract_dirs": [str(TEST_NODES / "runtime_testnodes" / "drain")],
                "plugin_allowlist": ["runtime_testnodes"],
            }
        )
    )
    env = {
        **os.environ,
        "HOME": str(work),
        "PYTHONPATH": str(TEST_NODES),
        "RTEST_OUT": str(work),
        "RTEST_BURST": "0",  # the test nodes stay idle
    }
    return {"local profile": (local, env), "postgres disabled": (disabled, env)}


def _spread(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def main(repeats: int) -> None:
    """Warm up, run every variant ``repeats`` times interleaved, print the table."""
    work = Path(tempfile.mkdtemp(prefix="onex-bench-boot-"))
    log = work / "runtime.log"
    load_before = load_average()
    print(f"python {sys.version.split()[0]}, site-packages bytecode: {_bytecode_state()}")
    print(f"before: {_load()}")
    try:
        configs = _configs(work)
        cold = boot(*configs["local profile"], log)[0]  # initdb happens here
        baseline()
        times: dict[str, list[float]] = {"baseline": []}
        rss: dict[str, list[float]] = {}
        rss_all: dict[str, list[float]] = {}
        for repeat in range(repeats):
            times["baseline"].append(baseline())
            names = list(configs) if repeat % 2 == 0 else list(configs)[::-1]
            for name in names:
                seconds, own, total = boot(*configs[name], log)
                times.setdefault(name, []).append(seconds)
                rss.setdefault(name, []).append(own)
                rss_all.setdefault(name, []).append(total)
            print(
                f"  repeat {repeat + 1}/{repeats}: "
                + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in times.items()),
                flush=True,
            )
        base = statistics.median(times["baseline"])
        print()
        print(
            f"boot to /ready, {repeats} repeats (median, min-max); first boot with initdb: "
            f"{cold:.2f}s"
        )
        print(
            f"  {'baseline: import omnibase_core.container':44} {_spread(times['baseline'], 's')}"
        )
        for name in configs:
            ratios = [t / b for t, b in zip(times[name], times["baseline"], strict=True)]
            print(
                f"  {'run, ' + name:44} {_spread(times[name], 's')}  "
                f"x{statistics.median(ratios):.2f} of baseline; idle RSS "
                f"{_spread(rss[name], ' MB')}, with children {_spread(rss_all[name], ' MB')}"
            )
        print()
        for name in configs:
            seconds, memory = statistics.median(times[name]), statistics.median(rss[name])
            print(
                f"targets ({name}): boot <= {TARGET_SECONDS}s: "
                f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'} ({seconds:.2f}s); "
                f"idle RSS <= {TARGET_RSS_MB:.0f} MB: "
                f"{'met' if memory <= TARGET_RSS_MB else 'MISSED'} ({memory:.0f} MB); "
                f"baseline {base:.2f}s"
            )
        print(f"after: {_load()}")
        record("bench_boot.local", load_before, _local_figures(times, rss))
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(f"{exc}\n--- runtime log (tail) ---\n{tail}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", choices=("local", "kafka", "all"), default="local")
    arguments = parser.parse_args()
    if arguments.profile in ("local", "all"):
        main(arguments.repeats)
    if arguments.profile in ("kafka", "all"):
        main_kafka(arguments.repeats)
