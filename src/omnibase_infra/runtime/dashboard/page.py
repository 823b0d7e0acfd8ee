"""The dashboard's one HTML page, its stylesheet and its script (ours, a few lines, no library).

The page arrives complete: figures, tables and the contract graphs (inline SVG) are rendered
here, so the first paint needs no script and no second request for data. The script then
opens ``/events`` (Server-Sent Events) and replaces each ``data-k`` text and each panel's
fragment with what every event carries. Nothing is fetched from anywhere else (the CSP says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from omnibase_infra.runtime.dashboard.graph_svg import render_graph_svg
from omnibase_infra.runtime.dashboard.model_dashboard_snapshot import ModelDashboardSnapshot
from omnibase_infra.runtime.dashboard.view import PANELS, ModelDashboardView
from omnibase_infra.runtime.documents.model_contract_graph import ModelContractGraph

__all__ = ["CONTENT_SECURITY_POLICY", "SCRIPT", "STYLE", "render_page"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

STYLE = """
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{display:flex;gap:24px;align-items:baseline;padding:10px 18px;background:#1f2a3a;color:#fff}
header h1{font-size:16px;margin:0}
header .live{color:#8fd18f}
main{padding:12px 18px}
.summary{display:flex;gap:28px;margin-bottom:12px}
.summary div{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px 14px}
.summary b{display:block;font-size:22px}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px;align-items:start}
.panel-lag{grid-column:span 2}
section{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px 12px}
section h2{font-size:13px;margin:0 0 6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:2px 8px 2px 0;border-bottom:1px solid #eee;overflow-wrap:anywhere}
td.open{color:#b00020;font-weight:bold}td.half_open{color:#a66b00}td.closed{color:#2a7a2a}
.empty{color:#888;margin:2px 0}
.error{color:#b00020}
.graphs section{margin-top:12px;overflow-x:auto}
svg.graph text{font:11px ui-monospace,monospace;fill:#222}
svg.graph text.edge-label{font-size:9px;fill:#444;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg.graph text.count{font-size:13px;font-weight:bold;fill:#0b4f9c}
"""

SCRIPT = """"use strict";
(() => {
  const status = document.getElementById("status");
  const events = new EventSource("events");
  let updates = 0;
  events.addEventListener("snapshot", (event) => {
    const view = JSON.parse(event.data);
    for (const [key, text] of Object.entries(view.values)) {
      for (const node of document.querySelectorAll(`[data-k="${CSS.escape(key)}"]`)) {
        node.textContent = text;
      }
    }
    for (const [id, html] of Object.entries(view.tables)) {
      const panel = document.getElementById(id);
      if (panel) panel.innerHTML = html;  // escaped server-side
    }
    updates += 1;
    document.body.dataset.updates = String(updates);
    status.textContent = "live";
    status.className = "live";
  });
  events.onerror = () => {
    status.textContent = "reconnecting";
    status.className = "";
  };
})();
"""


def render_page(
    title: str,
    snapshot: ModelDashboardSnapshot,
    view: ModelDashboardView,
    graphs: Sequence[ModelContractGraph],
) -> str:
    """The whole page for ``snapshot`` (``view`` is ``dashboard_view`` of it)."""
    values = view.values
    fleet = snapshot.fleet
    reducer = fleet.reducer if fleet is not None else None
    panels = "".join(
        f'<section class="panel-{panel}"><h2>{escape(heading)}</h2>'
        f'<div id="{panel}">{view.tables[panel]}</div></section>'
        for panel, heading in PANELS.items()
    )
    drawn = "".join(
        f'<section id="graph-{escape(graph.node_name)}"><h2>{escape(graph.node_name)}: '
        f"{escape(graph.title)}</h2>"
        + render_graph_svg(graph, fleet.by_state if fleet and graph.node_name == reducer else None)
        + "</section>"
        for graph in graphs
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="dashboard.css"><script src="dashboard.js" defer></script>'
        f'</head><body data-updates="0"><header><h1>{escape(title)}</h1>'
        f'<span>updated <span data-k="updated">{escape(values["updated"])}</span></span>'
        '<span id="status">connecting</span></header><main>'
        '<div class="summary">'
        f'<div>registrations<b data-k="fleet.total">{escape(values["fleet.total"])}</b></div>'
        '<div>last heartbeat<b data-k="fleet.last_heartbeat">'
        f"{escape(values['fleet.last_heartbeat'])}</b></div>"
        '<div>throughput (msg/s)<b data-k="throughput.total">'
        f"{escape(values['throughput.total'])}</b></div>"
        f'<p class="error" data-k="fleet.error">{escape(values["fleet.error"])}</p>'
        f'</div><div class="panels">{panels}</div>'
        f'<div class="graphs">{drawn}</div></main></body></html>'
    )
