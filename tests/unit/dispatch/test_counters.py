"""The lock-free metric cells of the dispatch hot path, as Prometheus reads them."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families

from omnibase_infra.dispatch.counters import GaugeCells, HistogramCells
from omnibase_infra.observability.metrics import REGISTRY, render_metrics


def _name(kind: str) -> str:
    return f"onex_test_{kind}_{uuid4().hex[:8]}"


def test_histogram_cells_add_up_into_cumulative_buckets_with_le_labels() -> None:
    """Two owners' observations of one label set export as one histogram: cumulative bucket
    counts (a value on a bound counts in it), +Inf equal to the count, and their sum."""
    name = _name("seconds")
    family = HistogramCells(name, "test histogram", ("node",), (0.1, 1.0))
    first, second = family.cell("a"), family.cell("a")
    for value in (0.05, 0.1, 0.5):
        first.observe(value)
    second.observe(7.0)
    sample = REGISTRY.get_sample_value
    assert sample(f"{name}_bucket", {"node": "a", "le": "0.1"}) == 2
    assert sample(f"{name}_bucket", {"node": "a", "le": "1.0"}) == 3
    assert sample(f"{name}_bucket", {"node": "a", "le": "+Inf"}) == 4
    assert sample(f"{name}_count", {"node": "a"}) == 4
    assert sample(f"{name}_sum", {"node": "a"}) == pytest.approx(7.65)
    parsed = {f.name: f.type for f in text_string_to_metric_families(render_metrics().decode())}
    assert parsed[name] == "histogram"


def test_histogram_cells_refuse_unordered_buckets_and_wrong_labels() -> None:
    """Buckets must increase, and a cell takes exactly the family's labels."""
    with pytest.raises(ValueError, match="increasing"):
        HistogramCells(_name("bad"), "bad", ("node",), (1.0, 0.5))
    family = HistogramCells(_name("seconds"), "ok", ("node",), (1.0,))
    with pytest.raises(ValueError, match="labels"):
        family.cell("a", "b")


def test_gauge_cells_go_up_and_down_and_sum_their_owners() -> None:
    """A gauge of cells exports the sum of its owners' current values, which can fall."""
    name = _name("in_flight")
    family = GaugeCells(name, "test gauge", ("node",))
    first, second = family.cell("a"), family.cell("a")
    first.value += 2
    second.value += 1
    assert REGISTRY.get_sample_value(name, {"node": "a"}) == 3
    first.value -= 2
    assert REGISTRY.get_sample_value(name, {"node": "a"}) == 1
