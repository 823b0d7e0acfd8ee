"""Fixtures of the fault-injection suite: the shared Kafka stack, a work directory, the report.

The stacks (a runtime on real servers, a fleet, faults, figures) are in ``chaos_harness``;
every test here is marked ``chaos`` (``pytest -m chaos`` runs the suite alone). ``kafka_chaos``
is one production-profile stack per module (a boot and a teardown saved per test, ~10 s):
its tests run on the module's event loop (``pytest.mark.asyncio(loop_scope="module")``), each
with a fleet of its own, and a test that needs another config enters ``kafka_stack`` itself.
A test hands its one-line figures to ``chaos_report``: printed, and repeated in the terminal
summary under "chaos figures" so they show in a normal (captured) run too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from chaos_harness import KafkaChaosStack, kafka_stack

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres

_FIGURES: list[str] = []


@pytest.fixture
def chaos_workdir() -> Iterator[Path]:
    """A directory for a test's runtime (config, logs, HOME), removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="onex-chaos-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kafka_chaos(postgres_server: EmbeddedPostgres) -> AsyncIterator[KafkaChaosStack]:
    """`onex-infra run` (production profile) on Tansu, PostgreSQL and a fake Consul agent,
    shared by the tests of a module."""
    workdir = Path(tempfile.mkdtemp(prefix="onex-chaos-"))
    try:
        async with kafka_stack(postgres_server, workdir) as stack:
            yield stack
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def chaos_report() -> Callable[[str], None]:
    """Print a line of figures and keep it for the terminal summary."""

    def report(line: str) -> None:
        print(line)
        _FIGURES.append(line)

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat every chaos test's figures at the end of the run."""
    if _FIGURES:
        terminalreporter.section("chaos figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
