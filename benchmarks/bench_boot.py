"""Boot to ready and idle memory of ``onex-infra run``, against importing core (not a test).

    .venv/bin/python benchmarks/bench_boot.py [--repeats 5]

Each repeat spawns, interleaved:

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
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "onex-infra")
TEST_NODES = ROOT / "tests" / "integration"
TARGET_SECONDS = 2.0
TARGET_RSS_MB = 120.0


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
    print(f"python {sys.version.split()[0]}, site-packages bytecode: {_bytecode_state()}")
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
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(f"{exc}\n--- runtime log (tail) ---\n{tail}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    main(parser.parse_args().repeats)
