"""The README's measured table is what the benchmarks last recorded; quiet runs are kept."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def _benchmarks_on_path() -> Iterator[None]:
    sys.path.insert(0, str(BENCHMARKS))
    yield
    sys.path.remove(str(BENCHMARKS))


def test_readme_table_matches_the_recorded_results() -> None:
    """The README's table between its markers is rendered from benchmarks/results as committed."""
    import render_measured

    readme = render_measured.README.read_text()
    assert render_measured.rewrite(readme, render_measured.render()) == readme, (
        "README.md's measured table is stale: run python benchmarks/render_measured.py"
    )


def test_every_benchmark_with_results_names_its_command_and_load() -> None:
    """Each results file parses and its runs say the command, the load and at least one figure."""
    from bench_report import RESULTS, ModelBenchResults

    for path in RESULTS.glob("*.json"):
        results = ModelBenchResults.model_validate_json(path.read_text())
        assert results.benchmark == path.stem
        for run in (results.latest, results.quiet):
            if run is None:
                continue
            # bench_boot.kafka.json: the kafka profile of bench_boot.py
            script = path.stem.split(".")[0]
            assert run.command.startswith(f"python benchmarks/{script}.py")
            assert run.figures, f"{path.name}: a run without figures"
        assert results.quiet is None or results.quiet.quiet, f"{path.name}: a loaded quiet run"


def test_a_loaded_run_keeps_the_previous_quiet_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded run replaces `latest` only; the quiet run stays and is shown beside it."""
    import bench_report
    import render_measured

    figure = bench_report.ModelBenchFigure(
        what="w", measured="1.00x", baseline="b", target="<= 2x", met=True
    )
    monkeypatch.setattr(bench_report, "load_average", lambda: 0.1)
    bench_report.record("bench_x", 0.1, [figure], directory=tmp_path)
    monkeypatch.setattr(bench_report, "load_average", lambda: 9.0)
    bench_report.record(
        "bench_x", 9.0, [figure.model_copy(update={"measured": "3.00x"})], directory=tmp_path
    )

    results = bench_report.read_results("bench_x", tmp_path)
    assert results is not None
    assert results.quiet is not None
    assert results.latest.figures[0].measured == "3.00x"
    assert results.quiet.figures[0].measured == "1.00x"
    table = render_measured.render(tmp_path)
    assert "3.00x; quiet run (" in table
    assert "): 1.00x" in table
    assert "load 9.00 -> 9.00" in table


def test_a_missing_marker_is_a_clear_error() -> None:
    """A README without the markers stops the rewrite with a message instead of losing text."""
    import render_measured

    with pytest.raises(SystemExit, match="markers are missing"):
        render_measured.rewrite("# no table here\n", render_measured.render())
