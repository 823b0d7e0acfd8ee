"""A snapshot as what the page shows: text by ``data-k`` key and table fragments by panel id.

The page is rendered with these (first paint shows the figures, no waiting for the stream)
and every Server-Sent Event carries them again, so the page's script only replaces text and
fragments. Every value is escaped here, server-side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from pydantic import BaseModel, ConfigDict

from omnibase_infra.runtime.dashboard.graph_svg import count_key
from omnibase_infra.runtime.dashboard.model_dashboard_snapshot import ModelDashboardSnapshot

__all__ = ["PANELS", "ModelDashboardView", "dashboard_view"]

# Panel id -> heading, in page order.
PANELS: dict[str, str] = {
    "states": "Registrations by state",
    "backends": "Backends",
    "breakers": "Circuit breakers",
    "lag": "Consumer lag",
    "dead_letters": "Dead letters by reason",
    "throughput": "Throughput",
}


class ModelDashboardView(BaseModel):
    """What one Server-Sent Event carries (and the page is first rendered with)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: dict[str, str]
    tables: dict[str, str]


def dashboard_view(
    snapshot: ModelDashboardSnapshot, fsm_states: Mapping[str, Sequence[str]] | None = None
) -> ModelDashboardView:
    """Text and fragments of ``snapshot``; the fleet's reducer, when ``fsm_states`` (node ->
    its FSM's states) draws it, gets a count on every state (0 included)."""
    fleet = snapshot.fleet
    by_state = fleet.by_state if fleet is not None else {}
    values = {
        "updated": snapshot.at.strftime("%H:%M:%S UTC"),
        "fleet.total": str(fleet.total) if fleet is not None else "n/a",
        "fleet.last_heartbeat": _ago(fleet.last_heartbeat_at, snapshot.at) if fleet else "n/a",
        "fleet.error": snapshot.fleet_error or "",
        "throughput.total": f"{sum(snapshot.rates.values()):.1f}",
    }
    drawn = fsm_states or {}
    if fleet is not None and fleet.reducer is not None and fleet.reducer in drawn:
        for state in drawn[fleet.reducer]:
            values[count_key(fleet.reducer, state)] = str(by_state.get(state, 0))
    tables = {
        "states": _table(
            ("state", "registrations"),
            ((s, _cell(str(n), f"fleet.state.{s}")) for s, n in sorted(by_state.items())),
            "no registrations" if fleet is not None else "no fleet source (registration off)",
        ),
        "backends": _table(
            ("backend", "status", "registrations"),
            (
                (backend, status, str(n))
                for backend, statuses in sorted((fleet.backends if fleet else {}).items())
                for status, n in sorted(statuses.items())
            ),
            "no backend statuses",
        ),
        "breakers": _table(
            ("dependency", "state"),
            ((d, _cell(s, f"breaker.{d}", s)) for d, s in snapshot.breakers.items()),
            "no circuit breaker yet",
        ),
        "lag": _table(
            ("consumer group", "topic", "lag"),
            ((r.consumer_group, r.topic, str(r.lag)) for r in snapshot.lag),
            "no consumer positions",
        ),
        "dead_letters": _table(
            ("reason", "messages"),
            ((r, _cell(str(n), f"dlq.{r}")) for r, n in snapshot.dead_letters.items()),
            "no dead letters",
        ),
        "throughput": _table(
            ("node", "msg/s", "consumed"),
            (
                (node, f"{snapshot.rates.get(node, 0.0):.1f}", str(total))
                for node, total in snapshot.messages.items()
            ),
            "nothing consumed yet",
        ),
    }
    return ModelDashboardView(values=values, tables=tables)


class _Cell:
    """A cell already escaped, with its ``data-k`` (so the test and the page can find it)."""

    def __init__(self, html: str) -> None:
        self.html = html


def _cell(text: str, key: str, css: str = "") -> _Cell:
    css_attribute = f' class="{escape(css)}"' if css else ""
    return _Cell(f'<td data-k="{escape(key)}"{css_attribute}>{escape(text)}</td>')


def _table(heads: Sequence[str], rows: Iterable[Sequence[str | _Cell]], empty: str) -> str:
    body = [
        "<tr>"
        + "".join(c.html if isinstance(c, _Cell) else f"<td>{escape(c)}</td>" for c in row)
        + "</tr>"
        for row in rows
    ]
    if not body:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0.0, (now - moment.astimezone(UTC)).total_seconds())
    return f"{moment.astimezone(UTC).strftime('%H:%M:%S UTC')} ({seconds:.0f} s ago)"
