"""What every benchmark reports besides its table: the machine's load and a results file.

A benchmark measures its figures, then calls :func:`record` with them. The run lands in
``benchmarks/results/<benchmark>.json`` as ``latest``; a run on a quiet machine (1-minute
load before and after under :data:`QUIET_LOAD_PER_CORE` per core) is also kept as ``quiet``.
``render_measured.py`` builds the README's measured table from those files, so the table shows
what the last runs printed, with the load beside each figure, and nothing else.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

RESULTS = Path(__file__).parent / "results"
# Below this 1-minute load per core a run counts as quiet (the "load < 1.3" on 2 cores
# is 0.65 per core).
QUIET_LOAD_PER_CORE = 0.65


class ModelBenchFigure(BaseModel):
    """One row of a benchmark's outcome: what was measured against which target, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: str
    measured: str
    baseline: str
    target: str | None = None
    met: bool | None = None


class ModelBenchRun(BaseModel):
    """One run of a benchmark: when, where, under which load, and its figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str
    command: str
    python: str
    cores: int
    load_before: float
    load_after: float
    figures: tuple[ModelBenchFigure, ...]

    @property
    def quiet(self) -> bool:
        """True when the machine was quiet before and after the run."""
        limit = QUIET_LOAD_PER_CORE * self.cores
        return self.load_before < limit and self.load_after < limit


class ModelBenchResults(BaseModel):
    """A benchmark's results file: its latest run and its latest quiet run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark: str
    latest: ModelBenchRun
    quiet: ModelBenchRun | None = None


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def load_line() -> str:
    """The machine's load, as every benchmark prints it before and after its run."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def read_results(benchmark: str, directory: Path = RESULTS) -> ModelBenchResults | None:
    """The stored results of ``benchmark``, or None when it has never recorded a run."""
    path = directory / f"{benchmark}.json"
    if not path.exists():
        return None
    return ModelBenchResults.model_validate_json(path.read_text())


def record(
    benchmark: str,
    load_before: float,
    figures: list[ModelBenchFigure],
    directory: Path = RESULTS,
) -> ModelBenchRun:
    """Store this run as the benchmark's latest (and quiet, when it was) and print where."""
    run = ModelBenchRun(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=shlex.join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        python=platform.python_version(),
        cores=os.cpu_count() or 1,
        load_before=round(load_before, 2),
        load_after=round(load_average(), 2),
        figures=tuple(figures),
    )
    previous = read_results(benchmark, directory)
    quiet = run if run.quiet else (previous.quiet if previous else None)
    results = ModelBenchResults(benchmark=benchmark, latest=run, quiet=quiet)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{benchmark}.json"
    path.write_text(results.model_dump_json(indent=2) + "\n")
    state = "quiet" if run.quiet else "loaded"
    print(
        f"results: {path.relative_to(directory.parent.parent)} ({state} run; "
        "python benchmarks/render_measured.py updates the README)"
    )
    return run
