"""``onex-infra`` as a real process: ``run`` serves until SIGTERM, then drains what the bus
accepted and exits 0 (a second SIGTERM, or a grace period too short, exits non-zero naming what
was pending); ``validate`` and ``contracts list`` on good and bad contract directories.

The drain tests load the ``drain`` test nodes: on the runtime's first tick an orchestrator emits
a burst of commands (listed in published.txt), which a slow effect handles one by one (listed
in handled.txt), so the runtime has accepted work in flight when the signal arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from process_support import postgres_serving, spawned, write_config
from runtime_support import ALLOWLIST
from runtime_testnodes import DRAIN_DIR, PIPELINE_DIR
from runtime_testnodes.files import HANDLED_FILE, PUBLISHED_FILE, read_lines

from omnibase_infra.testing import eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")
NODES_ROOT = Path(__file__).parent  # holds the runtime_testnodes package


@dataclass
class RunningRuntime:
    """An ``onex-infra run`` child process and the JSON log lines it wrote so far."""

    process: asyncio.subprocess.Process
    out: Path
    port: int = 0
    lines: list[dict[str, object]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def events(self, name: str) -> list[dict[str, object]]:
        """The log lines whose event is ``name``."""
        return [line for line in self.lines if line.get("event") == name]

    def handled(self) -> list[str]:
        """Work ids the slow effect finished."""
        return read_lines(self.out, HANDLED_FILE)

    def published(self) -> list[str]:
        """Work ids the burst orchestrator emitted."""
        return read_lines(self.out, PUBLISHED_FILE)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send ``signum`` to the runtime (by its PID)."""
        os.kill(self.process.pid, signum)

    async def exit_code(self, within: float = 60.0) -> int:
        """Wait for the process to exit (bounded) and for its log to be read to the end."""
        async with asyncio.timeout(within):
            code = await self.process.wait()
            if self.reader is not None:
                await self.reader
        return code


def _env(out: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(NODES_ROOT),
        "RTEST_OUT": str(out),
        "HOME": str(out),  # the user data dir of anything the runtime might create
        "COLUMNS": "500",  # rich tables unfolded, so file/field/reason stay on one line
        "ONEX_INGRESS__PORT": "0",  # runtimes run side by side: each ingress on a free port
        "ONEX_DASHBOARD__PORT": "0",  # and each dashboard
        **extra,
    }


def _drain_config(tmp_path: Path, **overrides: object) -> Path:
    values: dict[str, object] = {
        "use_entry_points": False,
        "contract_dirs": [str(DRAIN_DIR)],
        "plugin_allowlist": [ALLOWLIST],
        "postgres": {"mode": "disabled"},
        "event_bus": {"retry": None},
        "registration": {"tick_interval_seconds": 0.1},
        "shutdown_grace_seconds": 60.0,
    }
    values.update(overrides)
    path = tmp_path / "runtime.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


async def _read_log(runtime: RunningRuntime, ready: asyncio.Future[int]) -> None:
    stream = runtime.process.stderr
    assert stream is not None
    while line := await stream.readline():
        try:
            record = json.loads(line)
        except ValueError:
            record = {"event": "<text>", "text": line.decode(errors="replace")}
        runtime.lines.append(record)
        if record.get("event") == "runtime ready" and not ready.done():
            ready.set_result(int(str(record["http_port"])))
    if not ready.done():
        ready.set_exception(AssertionError(f"runtime exited before ready: {runtime.lines}"))


@asynccontextmanager
async def running_runtime(
    tmp_path: Path, config: Path, **env: str
) -> AsyncIterator[RunningRuntime]:
    """``onex-infra run`` on a free port, yielded once /ready answered 200; killed if left."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        CLI,
        "run",
        "--config",
        str(config),
        "--http-port",
        "0",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_env(out, **env),
    )
    runtime = RunningRuntime(process, out)
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    runtime.reader = asyncio.create_task(_read_log(runtime, ready))
    try:
        async with asyncio.timeout(60):
            runtime.port = await ready
            await _wait_ready(runtime.port)
        yield runtime
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runtime.reader


async def _wait_ready(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def ready() -> bool:
            return (await client.get("/ready")).status_code == 200

        await eventually(ready, "/ready to answer 200")


# -- run: SIGTERM ---------------------------------------------------------------------------------


async def test_sigterm_drains_every_accepted_message_and_exits_0(tmp_path: Path) -> None:
    """SIGTERM while a slow node works through a burst: every published message is handled
    exactly once before the process exits 0."""
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config, RTEST_BURST="40", RTEST_DELAY="0.05") as runtime:
        await eventually(lambda: len(runtime.handled()) >= 2, "the slow node to start working")
        runtime.signal()
        handled_at_signal = len(runtime.handled())
        code = await runtime.exit_code()
    assert code == 0
    published = runtime.published()
    assert len(published) == 40
    assert handled_at_signal < 40  # there was accepted work left to drain
    assert sorted(runtime.handled()) == sorted(published)  # all of it, once each
    (stopped,) = runtime.events("runtime stopped")
    assert stopped["drained"] is True


async def test_grace_period_exceeded_exits_non_zero_naming_what_was_pending(
    tmp_path: Path,
) -> None:
    """With a grace period shorter than the remaining work, the runtime stops anyway, exits 1,
    and its log says how many accepted messages were still pending."""
    config = _drain_config(tmp_path, shutdown_grace_seconds=0.5)
    async with running_runtime(tmp_path, config, RTEST_BURST="40", RTEST_DELAY="0.3") as runtime:
        await eventually(lambda: runtime.handled(), "the slow node to start working")
        runtime.signal()
        code = await runtime.exit_code()
    assert code == 1
    (incomplete,) = runtime.events("stopped before draining")
    assert incomplete["reason"] == "grace period over"
    pending = incomplete["pending"]
    assert isinstance(pending, int)
    assert pending > 0
    assert len(runtime.handled()) < 40
    (stopped,) = runtime.events("runtime stopped")
    assert stopped["drained"] is False


async def test_a_handler_that_never_returns_does_not_keep_the_process_alive(
    tmp_path: Path,
) -> None:
    """A node stuck in its handler past the grace period is abandoned: the process still exits
    (1), logging the pending messages and the stop steps it gave up on."""
    config = _drain_config(tmp_path, shutdown_grace_seconds=0.5)
    async with running_runtime(tmp_path, config, RTEST_BURST="8", RTEST_DELAY="3600") as runtime:
        await eventually(lambda: runtime.published(), "the burst to be published")
        runtime.signal()
        code = await runtime.exit_code(within=45)
    assert code == 1
    (incomplete,) = runtime.events("stopped before draining")
    pending = incomplete["pending"]
    assert isinstance(pending, int)
    assert pending >= 8  # the whole burst (a last tick may still be queued too)
    assert runtime.events("abandoned a stop step")
    assert runtime.handled() == []


async def test_second_sigterm_stops_at_once_exits_non_zero_naming_what_was_pending(
    tmp_path: Path,
) -> None:
    """A second SIGTERM during a long drain ends it: /ready said "stopping" meanwhile, the
    process exits 1 and logs the pending count."""
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config, RTEST_BURST="40", RTEST_DELAY="0.5") as runtime:
        await eventually(lambda: runtime.handled(), "the slow node to start working")
        runtime.signal()
        await eventually(lambda: runtime.events("runtime stopping"), "the stop to begin")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.port}") as client:
            during = await client.get("/ready")
        runtime.signal()
        code = await runtime.exit_code(within=30)
    assert during.status_code == 503
    assert during.json()["status"] == "stopping"
    assert code == 1
    (incomplete,) = runtime.events("stopped before draining")
    assert incomplete["reason"] == "second stop signal"
    pending = incomplete["pending"]
    assert isinstance(pending, int)
    assert pending > 0


async def _run_once(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    """``onex-infra run ...`` expected to exit on its own; returns its code and output."""
    process = await asyncio.create_subprocess_exec(
        CLI,
        "run",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=_env(tmp_path, **env),
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_run_with_a_bad_contract_exits_2_naming_file_field_and_reason(
    tmp_path: Path,
) -> None:
    """``run`` on a directory with a bad contract prints a configuration error with the file,
    the field and the reason verbatim (no traceback, no markup eaten) and exits 2."""
    contracts = tmp_path / "contracts"
    shutil.copytree(DRAIN_DIR, contracts, ignore=shutil.ignore_patterns("*.py"))
    bad = contracts / "node_rt_slow_effect" / "contract.yaml"
    bad.write_text(bad.read_text().replace("EFFECT_GENERIC", '"[b]WIZARD[/b]"'))
    config = _drain_config(tmp_path, contract_dirs=[str(contracts)])
    code, output = await _run_once(tmp_path, "--config", str(config))
    assert code == 2
    assert "configuration error" in output
    assert "Traceback" not in output
    assert f"{bad}: node_type: unknown archetype '[b]WIZARD[/b]'" in output


async def test_run_on_a_taken_port_exits_1_saying_so(tmp_path: Path) -> None:
    """``run`` whose hub port is taken exits 1 with one line naming the address (no
    traceback)."""
    config = _drain_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await _run_once(tmp_path, "--config", str(config), "--http-port", str(port))
    assert code == 1
    assert f"cannot start: cannot bind the hub to 127.0.0.1:{port}" in output
    assert "Traceback" not in output


def _postgres_serving(data_dir: Path) -> list[psutil.Process]:
    """The PostgreSQL server processes whose command line names ``data_dir``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(data_dir) in part for part in cmdline) and "postgres" in cmdline[0]:
            found.append(process)
    return found


async def test_local_profile_serves_and_stops_its_embedded_postgres(
    tmp_path: Path, postgres_base_dir: Path
) -> None:
    """The zero-configuration profile (embedded PostgreSQL, the package's nodes) becomes ready
    with the database pinged, and SIGTERM exits 0 leaving no PostgreSQL process behind."""
    config = tmp_path / "runtime.yaml"
    config.write_text(yaml.safe_dump({"postgres": {"data_dir": str(postgres_base_dir)}}))
    async with running_runtime(tmp_path, config) as runtime:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.port}") as client:
            ready = (await client.get("/ready")).json()
        serving = _postgres_serving(postgres_base_dir)
        runtime.signal()
        code = await runtime.exit_code()
    assert code == 0
    assert {c["name"]: c["healthy"] for c in ready["checks"]}["postgres"] is True
    assert serving, "the embedded PostgreSQL was not found while the runtime ran"
    assert [p.pid for p in serving if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []


async def test_sigterm_while_embedded_postgres_starts_aborts_and_leaves_no_postgres(
    tmp_path: Path, postgres_base_dir: Path
) -> None:
    """SIGTERM while /ready says the start waits on the embedded PostgreSQL (a first start:
    initdb) aborts it: exit 128+SIGTERM, "start aborted" logged, no PostgreSQL left running."""
    data_dir = postgres_base_dir / "fresh"
    config = write_config(tmp_path / "runtime.yaml", {"postgres": {"data_dir": str(data_dir)}})
    async with spawned(config, tmp_path / "out") as runtime:
        probe = await runtime.until(
            # Both in one probe: the hub may start listening between its two requests.
            lambda p: (
                p.health == 200
                and "infrastructure: embedded postgres" in str((p.ready_body or {}).get("pending"))
            ),
            "/health 200 and /ready naming the embedded PostgreSQL",
        )
        runtime.signal()
        code = await runtime.exit_code(within=30)
    assert probe.health == 200
    assert code == 128 + signal.SIGTERM
    (aborted,) = runtime.events("start aborted")
    assert aborted["signal"] == "SIGTERM"
    assert postgres_serving(data_dir) == []
    assert not runtime.events("runtime ready")


async def test_run_refuses_a_contract_that_is_a_fifo_naming_file_and_reason(
    tmp_path: Path,
) -> None:
    """A contract path that is a FIFO is refused at once with the file and the reason (exit 2),
    never read (reading it would wait for a writer forever)."""
    contracts = tmp_path / "contracts"
    shutil.copytree(DRAIN_DIR, contracts, ignore=shutil.ignore_patterns("*.py"))
    fifo = contracts / "node_rt_slow_effect" / "contract.yaml"
    fifo.unlink()
    os.mkfifo(fifo)
    config = _drain_config(tmp_path, contract_dirs=[str(contracts)])
    code, output = await _run_once(tmp_path, "--config", str(config))
    assert code == 2
    assert "configuration error" in output
    assert f"{fifo}: is a FIFO (named pipe), not a regular file" in output


async def test_run_with_postgres_disabled_boots_with_the_package_nodes(tmp_path: Path) -> None:
    """``run`` with postgres.mode disabled and the package's own nodes becomes ready."""
    config = tmp_path / "runtime.yaml"
    config.write_text(yaml.safe_dump({"postgres": {"mode": "disabled"}}))
    async with running_runtime(tmp_path, config) as runtime:
        runtime.signal()
        assert await runtime.exit_code() == 0


# -- validate and contracts list ------------------------------------------------------------------


async def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=_env(tmp_path),
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def _allowlist_config(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "validate.yaml"
    path.write_text(yaml.safe_dump({"plugin_allowlist": [ALLOWLIST], **overrides}))
    return path


async def test_validate_accepts_the_package_contracts(tmp_path: Path) -> None:
    """``validate`` exits 0 on the package's own contracts and node code."""
    code, output = await _cli(tmp_path, "validate")
    assert code == 0, output
    assert "ok:" in output


async def test_validate_accepts_the_test_nodes(tmp_path: Path) -> None:
    """``validate`` exits 0 on the test nodes of every archetype, their code included."""
    config = _allowlist_config(tmp_path, use_entry_points=False)
    code, output = await _cli(
        tmp_path,
        "validate",
        "--config",
        str(config),
        "--contracts",
        str(PIPELINE_DIR),
        "--contracts",
        str(DRAIN_DIR),
    )
    assert code == 0, output
    assert "ok: 6 contract(s)" in output


def _row(output: str, *cells: str) -> bool:
    """Whether one line of ``output`` (a table row) contains every cell."""
    return any(all(cell in line for cell in cells) for line in output.splitlines())


async def test_validate_reports_bad_contracts_in_a_table_with_file_field_and_reason(
    tmp_path: Path,
) -> None:
    """``validate`` on a directory of bad contracts exits 1 with one row per problem naming
    its file, its field and the reason."""
    contracts = tmp_path / "contracts"
    shutil.copytree(PIPELINE_DIR, contracts, ignore=shutil.ignore_patterns("*.py"))
    archetype = contracts / "node_rt_square_compute" / "contract.yaml"
    archetype.write_text(archetype.read_text().replace("COMPUTE_GENERIC", "MAGIC_GENERIC"))
    outside = contracts / "node_rt_tally_reducer" / "contract.yaml"
    outside.write_text(
        outside.read_text().replace(
            "module: runtime_testnodes.pipeline.node_rt_tally_reducer.handler",
            "module: os.path",
        )
    )
    unsafe = contracts / "node_rt_record_effect" / "contract.yaml"
    unsafe.write_text("name: !!python/object/apply:os.system ['true']\n")
    config = _allowlist_config(tmp_path, use_entry_points=False)
    code, output = await _cli(
        tmp_path, "validate", "--config", str(config), "--contracts", str(contracts)
    )
    assert code == 1, output
    assert _row(output, str(archetype), "node_type", "contract", "unknown archetype")
    assert _row(
        output,
        str(outside),
        "handler_routing.handlers.0.handler.module",
        "outside the handler import allowlist",
    )
    assert _row(output, str(unsafe), "contract")
    assert "3 problem(s)" in output


async def test_validate_reports_every_problem_of_every_contract_in_one_run(
    tmp_path: Path,
) -> None:
    """One ``validate`` run lists a contract error next to the import problems of the other
    contracts: a misspelled handler class, a class with no ``handle``, a missing model."""
    contracts = tmp_path / "contracts"
    shutil.copytree(PIPELINE_DIR, contracts, ignore=shutil.ignore_patterns("*.py"))

    def edit(node: str, old: str, new: str) -> Path:
        path = contracts / node / "contract.yaml"
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))
        return path

    bad_kind = edit("node_rt_tally_reducer", "REDUCER_GENERIC", "MAGIC_GENERIC")
    misspelled = edit("node_rt_square_compute", "HandlerRtSquare", "HandlerRtSquaer")
    no_handle = edit(
        "node_rt_flow_orchestrator",
        "{name: HandlerRtStartJob, module: runtime_testnodes.pipeline.node_rt_flow_orchestrator"
        ".handler}",
        "{name: ModelRtStartJob, module: runtime_testnodes.models}",
    )
    no_model = edit(
        "node_rt_record_effect",
        "input_model: runtime_testnodes.models.ModelRtRecordJob",
        "input_model: runtime_testnodes.models.ModelRtNope",
    )
    config = _allowlist_config(tmp_path, use_entry_points=False)
    code, output = await _cli(
        tmp_path, "validate", "--config", str(config), "--contracts", str(contracts)
    )
    assert code == 1, output
    assert _row(output, str(bad_kind), "node_type", "unknown archetype")
    assert _row(output, str(misspelled), "handler_routing.handlers.0.handler", "has no class")
    assert _row(output, str(no_handle), "handler_routing.handlers.0.handler", "async def handle")
    assert _row(output, str(no_model), "input_model", "has no class ModelRtNope")
    assert "4 problem(s)" in output


async def test_validate_reports_architecture_violations(tmp_path: Path) -> None:
    """``validate`` exits 1 naming the file, line and rule of Any in a signature, a node class
    not named Node<Name><Archetype> and a class in model_*.py not named Model*."""
    contracts = tmp_path / "contracts"
    shutil.copytree(PIPELINE_DIR, contracts)
    node_dir = contracts / "node_rt_square_compute"
    (node_dir / "node.py").write_text(
        "from omnibase_infra._core import NodeCompute\n\n\n"
        "class SquareNode(NodeCompute):\n    pass\n"
    )
    (node_dir / "helpers.py").write_text(
        "from typing import Any\n\n\ndef loosen(value: Any) -> object:\n    return value\n"
    )
    (node_dir / "model_square_input.py").write_text(
        "from pydantic import BaseModel\n\n\nclass SquareInput(BaseModel):\n    value: int\n"
    )
    config = _allowlist_config(tmp_path, use_entry_points=False)
    code, output = await _cli(
        tmp_path, "validate", "--config", str(config), "--contracts", str(contracts)
    )
    assert code == 1, output
    assert _row(output, str(node_dir / "node.py"), "4", "naming", "SquareNode")
    assert _row(output, str(node_dir / "helpers.py"), "4", "no-any", "loosen()")
    assert _row(output, str(node_dir / "model_square_input.py"), "4", "naming", "Model*")
    assert "3 problem(s)" in output


async def test_contracts_list_shows_each_node_with_topics_and_handlers(tmp_path: Path) -> None:
    """``contracts list`` prints every node the runtime would load with its archetype,
    version, topics and handler routes."""
    config = _allowlist_config(tmp_path, use_entry_points=False)
    code, output = await _cli(
        tmp_path, "contracts", "list", "--config", str(config), "--contracts", str(PIPELINE_DIR)
    )
    assert code == 0, output
    assert "4 node contract(s)" in output
    assert _row(
        output,
        "rt_flow_orchestrator",
        "orchestrator",
        "1.0.0",
        "onex.cmd.rtest.start-job.v1",
        "onex.evt.rtest.job-started.v1",
        "ModelRtStartJob -> HandlerRtStartJob",
    )
    assert _row(output, "rt_tally_reducer", "reducer", "onex.intent.rtest.record-job.v1")
    assert _row(output, "rt_record_effect", "effect", "ModelRtRecordJob -> HandlerRtRecord")
    assert _row(output, "rt_square_compute", "compute", "ModelRtStartJob -> HandlerRtSquare")
