"""Every ```bash block of the quick start, the guides and the runbooks runs and exits 0.

The runbooks run against the production profile as an operator has it (``onex-infra run`` with
a config file on a Tansu broker, PostgreSQL by a DSN reference and a Consul agent: the chaos
suite's ``kafka_stack``), with the variables the runbooks tell the operator to set pointing at
it; a dead letter is made first so the DLQ runbook has one to inspect and replay. The quick
start runs from the repository root with a fresh ``HOME``. Blocks marked in the page as not run
are skipped with the reason the page shows (``doc_blocks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
import pytest_asyncio

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION

sys.path.insert(0, str(Path(__file__).parents[2] / "chaos"))
from chaos_harness import KafkaChaosStack, kafka_stack
from doc_blocks import DOCS, SKIP_MARKER, DocBlock, bash_blocks

ROOT = DOCS.parent
RUNBOOKS = sorted(p for p in (DOCS / "operations").glob("*.md") if p.name != "index.md")
GUIDES = sorted((DOCS / "guides").glob("*.md"))
QUICKSTART = DOCS / "getting-started" / "quickstart.md"
_BLOCK_TIMEOUT_SECONDS = 300.0  # a bound for a loaded machine, not a figure

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _base_env(home: Path) -> dict[str, str]:
    """The test's environment as a user's shell has it (proxies, certificates, package index
    settings), less any ``ONEX_*`` setting but ``ONEX_PYTHON``, with the venv's tools first on
    PATH and a HOME of the test's own."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ONEX_") or name == "ONEX_PYTHON"
    }
    env.update(
        {
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "NO_COLOR": "1",
            "COLUMNS": "160",
        }
    )
    return env


async def _run_block(block: DocBlock, *, cwd: Path, env: Mapping[str, str]) -> None:
    """Run one block with ``bash -euo pipefail``; fail with its output if it exits non-zero."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        block.text,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(_BLOCK_TIMEOUT_SECONDS):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{block.name} ran past {_BLOCK_TIMEOUT_SECONDS} s") from None
    text = output.decode(errors="replace")
    exit_code = process.returncode
    if exit_code != 0:
        text += _log_tails(Path(env["HOME"]))
    assert exit_code == 0, f"{block.name} exited {exit_code}:\n{block.text}\n{text}"


def _log_tails(home: Path) -> str:
    """The last lines of every log a page wrote under ``home`` (why a runtime it started
    did not come up)."""
    tails = []
    for log in sorted(home.rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        tails.append(f"\n--- {log}\n" + "\n".join(lines))
    return "".join(tails)


async def _run_page(page: Path, *, cwd: Path, env: Mapping[str, str]) -> list[str]:
    """Run the page's blocks in order; the skipped ones' ``name: reason``."""
    blocks = bash_blocks(page)
    assert blocks, f"{page} has no bash block"
    skipped: list[str] = []
    for block in blocks:
        if block.skip_reason is not None:
            skipped.append(f"{block.name}: {block.skip_reason}")
            continue
        await _run_block(block, cwd=cwd, env=env)
    return skipped


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime's directory (config, logs) and the blocks' HOMEs."""
    return tmp_path_factory.mktemp("docs-runbooks")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(postgres_server: EmbeddedPostgres, workdir: Path) -> AsyncIterator[KafkaChaosStack]:
    """The production profile on real servers, with one dead letter on the introspection
    topic's DLQ."""
    async with kafka_stack(postgres_server, workdir) as running:
        await running.bus.publish(TOPIC_NODE_INTROSPECTION, b"docs", b"not an envelope")
        deadline = time.monotonic() + 60
        while not await running.dead_letters():
            assert time.monotonic() < deadline, "the garbage was never dead-lettered"
            await asyncio.sleep(0.5)
        yield running


def _operator_env(stack: KafkaChaosStack, home: Path) -> dict[str, str]:
    """What each runbook's first block tells the operator to set, pointing at ``stack``."""
    return {
        **_base_env(home),
        "ONEX_CONFIG": str(stack.runtime.config_path),
        "ONEX_HUB_URL": stack.runtime.url,
        "ONEX_PG_DSN": stack.dsn,
        "ONEX_CHAOS_PG_DSN": stack.dsn,  # the DSN reference the stack's config names
        "ONEX_RUNTIME_LOG": str(stack.runtime.log_paths[-1]),
    }


def _kill_started(home: Path) -> None:
    """SIGKILL what a page started in the background and left running (its ``*.pid`` files),
    so a failed block leaves no runtime behind."""
    for pid_file in home.rglob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            # Only a runtime the page started: the PID may have gone to another process since.
            if b"onex-infra" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def test_every_skip_marker_gives_a_reason() -> None:
    """A block is only skipped with a reason the reader sees, and the marker is spelled right."""
    for page in [QUICKSTART, *GUIDES, *RUNBOOKS]:
        for block in bash_blocks(page):
            assert block.skip_reason != "", f"{block.name}: {SKIP_MARKER} without a reason"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("page", RUNBOOKS, ids=lambda p: p.stem)
async def test_runbook_commands_run(
    page: Path, stack: KafkaChaosStack, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each runbook's commands exit 0 against a running production-profile runtime."""
    home = workdir / f"home-{page.stem}"
    home.mkdir(exist_ok=True)
    try:
        skipped = await _run_page(page, cwd=home, env=_operator_env(stack, home))
    finally:
        _kill_started(home)
    with capsys.disabled():
        for line in skipped:
            print(f"\n  skipped {line}")


@pytest.mark.asyncio
@pytest.mark.parametrize("page", [QUICKSTART, *GUIDES], ids=lambda p: p.stem)
async def test_quickstart_and_guide_commands_run(page: Path) -> None:
    """The quick start and the guides run as written, from the repository root, with a fresh
    HOME (the README's set-up commands included, unless the page marks them)."""
    # Outside pytest's basetemp: a pytest session starting meanwhile resets its root to 0700,
    # and the embedded PostgreSQL (run as its own user under root) could no longer reach HOME.
    home = Path(tempfile.mkdtemp(prefix="onex-docs-home-"))
    try:
        await _run_page(page, cwd=ROOT, env=_base_env(home))
    finally:
        _kill_started(home)
        shutil.rmtree(home, ignore_errors=True)
