"""The metrics and logs people read, on the registry's real runtime path.

The Grafana dashboard in ``docs/grafana/onex-runtime.json`` charts only names the hub's
``/metrics`` exposes; the new metrics move with the traffic (latency histogram, lag, in-flight,
registrations by state, process metrics); each registration state change is logged once,
under the one key per concept (``logger``, ``correlation_id``, ``node_id``).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from registration_harness import (
    fleet_of,
    registry_config,
    running_registry,
    wait_consumed,
)

from omnibase_infra.nodes.node_registration_orchestrator.wiring import ORCHESTRATOR_NAME

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "onex-runtime.json"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# What follows a metric name in a PromQL expression: a label matcher or the end of a selector.
_PROMQL_NAME = re.compile(r"\b((?:onex|process|python)_[a-z0-9_]+)\b")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


def dashboard_metric_names() -> set[str]:
    """Every metric name the dashboard's panel and variable expressions use."""
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    expressions += [
        var["definition"] for var in dashboard["templating"]["list"] if "definition" in var
    ]
    return {name for expr in expressions for name in _PROMQL_NAME.findall(expr)}


def exposed_names(text: str) -> set[str]:
    """Every series name the exposition can answer, samples or not (a labelled counter that
    never counted yet is declared by its ``# TYPE`` line)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def samples(text: str) -> Samples:
    """Prometheus text as ``{(sample name, sorted labels): value}``."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(scrape: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (n, lbl), value in scrape.items() if n == name and wanted <= set(lbl))


async def test_dashboard_charts_exposed_metrics_that_move_with_traffic(postgres_dsn: str) -> None:
    """Every metric name in the dashboard is in /metrics, and registering three nodes moves the
    latency histogram by exactly the messages handled, leaves no lag and nothing in flight,
    counts three active registrations and exposes process metrics."""
    used = dashboard_metric_names()
    assert {"onex_dispatch_handling_duration_seconds_bucket", "onex_consumer_lag_messages"} <= used
    async with running_registry(postgres_dsn, config=registry_config(http=True)) as registry:
        hub = f"http://127.0.0.1:{registry.host.http_port}"
        async with httpx.AsyncClient(base_url=hub, trust_env=False) as http:
            before = samples((await http.get("/metrics")).text)
            fleet = fleet_of(registry.bus, 3, prefix="metrics-node")
            await fleet.listen()
            for client in fleet.nodes:
                await client.start()
            for client in fleet.nodes:
                await asyncio.wait_for(client.active.wait(), 60)
            await registry.tick(0)
            await wait_consumed(registry.bus)
            reply = await http.get("/metrics")
            await fleet.close()
    assert reply.status_code == 200
    missing = used - exposed_names(reply.text)
    assert not missing, f"dashboard names not exposed: {sorted(missing)}"
    after = samples(reply.text)

    node = ORCHESTRATOR_NAME
    handled = total(after, "onex_dispatch_messages_total", node=node) - total(
        before, "onex_dispatch_messages_total", node=node
    )
    timed = total(after, "onex_dispatch_handling_duration_seconds_count", node=node) - total(
        before, "onex_dispatch_handling_duration_seconds_count", node=node
    )
    in_inf = total(
        after, "onex_dispatch_handling_duration_seconds_bucket", node=node, le="+Inf"
    ) - total(before, "onex_dispatch_handling_duration_seconds_bucket", node=node, le="+Inf")
    assert handled >= 3 * 2 + 1  # an introspection and an ack from each node, and the tick
    assert timed == handled == in_inf
    assert total(after, "onex_dispatch_in_flight_messages", node=node) == 0

    group = registry.engine.group_id_for(node)
    lags = {
        labels: value
        for (name, labels), value in after.items()
        if name == "onex_consumer_lag_messages" and ("consumer_group", group) in labels
    }
    assert lags, f"no lag exported for {group}"
    assert set(lags.values()) == {0.0}

    states = {
        dict(labels)["state"]: value
        for (name, labels), value in after.items()
        if name == "onex_registrations"
    }
    assert states["active"] == 3
    assert sum(states.values()) == 3
    assert after[("process_resident_memory_bytes", ())] > 0


async def test_each_registration_state_change_is_logged_once(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three nodes that register log pending, accepted and active once each, with node id,
    from, to, trigger and correlation id; every line names its logger under ``logger`` and no
    line uses the retired keys ``logger_name``, ``group`` or ``group_id``."""
    config = registry_config().model_copy(update={"log_level": "INFO"})
    async with running_registry(postgres_dsn, config=config) as registry:
        fleet = fleet_of(registry.bus, 3, prefix="logged-node")
        await fleet.listen()
        for client in fleet.nodes:
            await client.start()
        for client in fleet.nodes:
            await asyncio.wait_for(client.active.wait(), 60)
        await wait_consumed(registry.bus)
        await fleet.close()
        ids = {str(client.node_id) for client in fleet.nodes}
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    assert lines
    assert all("logger" in line for line in lines)
    assert not [line for line in lines if {"logger_name", "group", "group_id"} & line.keys()]
    changes = [line for line in lines if line["event"] == "registration state changed"]
    by_node: dict[str, list[tuple[str, str, str]]] = {}
    for line in changes:
        assert line["level"] == "info"
        assert line["correlation_id"]
        by_node.setdefault(line["node_id"], []).append(
            (line["from_state"], line["to_state"], line["trigger"])
        )
    assert set(by_node) == ids
    for steps in by_node.values():
        assert steps == [
            ("unregistered", "pending", "introspected"),
            ("pending", "accepted", "registered"),
            ("accepted", "active", "acked"),
        ]
