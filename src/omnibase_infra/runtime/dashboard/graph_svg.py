"""Draws a contract graph (``contract_graph``) as inline SVG, laid out here, server-side.

Layered left to right: a node's column is the longest path to it from the graph's entries
(the FSM's start, the workflow's subscribed topics), the edges that close a cycle left out.
Edges are curves (so the two directions between a pair of states stay apart; an edge back
arcs wide), self-loops arcs above their state. Each FSM state carries a count element
(``data-k``) the page's script updates from the live stream. Every text is escaped;
nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from omnibase_infra.runtime.documents.model_contract_graph import (
    ModelContractGraph,
    ModelGraphEdge,
    ModelGraphNode,
)

__all__ = ["count_key", "render_graph_svg"]

_CHAR = 6.6  # px per character at the page's 11px monospace-ish labels
_COLUMN_GAP = 90.0
_ROW_GAP = 22.0
_MARGIN = 24.0
_FILL = {
    "start": "#333",
    "state": "#eef4ff",
    "terminal": "#e8e8e8",
    "terminal_like": "#f4f4f4",
    "error": "#ffecec",
    "any_state": "#fff8e0",
    "orchestrator": "#e6f6ea",
    "step": "#eef4ff",
    "topic_in": "#fafafa",
    "topic_out": "#fafafa",
}


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def count_key(node_name: str, state: str) -> str:
    """The ``data-k`` of the live count drawn on ``state`` of ``node_name``'s FSM."""
    return f"fsm:{node_name}:{state}"


def render_graph_svg(graph: ModelContractGraph, counts: Mapping[str, int] | None = None) -> str:
    """``graph`` as one ``<svg>`` element; FSM states show ``counts`` (0 when absent)."""
    counted = graph.kind == "fsm"
    back = _back_edges(graph)
    boxes = _layout(graph, counted, back)
    edges = [_edge(edge, boxes, (edge.source, edge.target) in back) for edge in graph.edges]
    width = max((b.x + b.w for b in boxes.values()), default=0.0) + _MARGIN
    top = min([0.0, *(e[1] - _MARGIN for e in edges)])  # loops and arcs reach past the boxes
    bottom = max([*(b.y + b.h for b in boxes.values()), *(e[2] for e in edges)]) + _MARGIN
    height = bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 {top:.0f} {width:.0f} {height:.0f}" '
        f'aria-label="{escape(graph.node_name)}: {escape(graph.title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    parts.extend(e[0] for e in edges)
    for node in graph.nodes:
        parts.append(_node(graph.node_name, node, boxes[node.id], counted, counts or {}))
    parts.append("</svg>")
    return "".join(parts)


def _size(node: ModelGraphNode, counted: bool) -> tuple[float, float]:
    if node.kind == "start":
        return 14.0, 14.0
    width = max(84.0, len(node.label) * _CHAR + 24)
    return width, 44.0 if counted else 28.0


def _back_edges(graph: ModelContractGraph) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by a depth-first walk from the graph's entries."""
    out: dict[str, list[str]] = {}
    for edge in graph.edges:
        if edge.source != edge.target:
            out.setdefault(edge.source, []).append(edge.target)
    incoming = {edge.target for edge in graph.edges if edge.source != edge.target}
    entries = [n.id for n in graph.nodes if n.id not in incoming]
    order = entries + [n.id for n in graph.nodes if n.id in incoming]
    back: set[tuple[str, str]] = set()
    done: set[str] = set()
    on_path: set[str] = set()
    for root in order:
        if root in done:
            continue
        stack = [(root, iter(out.get(root, [])))]
        on_path.add(root)
        while stack:
            current, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                on_path.discard(current)
                done.add(current)
            elif target in on_path:
                back.add((current, target))
            elif target not in done:
                on_path.add(target)
                stack.append((target, iter(out.get(target, []))))
    return back


def _ranks(graph: ModelContractGraph, back: set[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: the longest path to it from an entry, cycles' back edges left out."""
    forward = [
        (e.source, e.target)
        for e in graph.edges
        if e.source != e.target and (e.source, e.target) not in back
    ]
    rank = {node.id: 0 for node in graph.nodes}
    for _ in range(len(graph.nodes)):  # Bellman-Ford style: the forward edges form a DAG
        changed = False
        for source, target in forward:
            if rank[target] < rank[source] + 1:
                rank[target] = rank[source] + 1
                changed = True
        if not changed:
            break
    return rank


def _layout(
    graph: ModelContractGraph, counted: bool, back: set[tuple[str, str]]
) -> dict[str, _Box]:
    ranks = _ranks(graph, back)
    columns: dict[int, list[ModelGraphNode]] = {}
    for node in graph.nodes:
        columns.setdefault(ranks[node.id], []).append(node)
    for r, column in columns.items():  # published topics above and below the steps they flank
        topics = [n for n in column if n.kind == "topic_out"]
        rest = [n for n in column if n.kind != "topic_out"]
        half = len(topics) // 2
        columns[r] = [*topics[:half], *rest, *topics[half:]]
    sizes = {node.id: _size(node, counted) for node in graph.nodes}
    heights = {
        r: sum(sizes[n.id][1] for n in ns) + _ROW_GAP * (len(ns) - 1) for r, ns in columns.items()
    }
    tallest = max(heights.values(), default=0.0)
    boxes: dict[str, _Box] = {}
    x = _MARGIN
    for r in sorted(columns):
        column_width = max(sizes[n.id][0] for n in columns[r])
        y = _MARGIN + (tallest - heights[r]) / 2
        for node in columns[r]:
            w, h = sizes[node.id]
            boxes[node.id] = _Box(x + (column_width - w) / 2, y, w, h)
            y += h + _ROW_GAP
        x += column_width + _COLUMN_GAP
    return boxes


def _clip(box: _Box, dx: float, dy: float) -> tuple[float, float]:
    """Where the ray from the box's centre along (dx, dy) leaves the box."""
    scale = min(
        box.w / 2 / abs(dx) if dx else math.inf,
        box.h / 2 / abs(dy) if dy else math.inf,
    )
    return box.cx + dx * scale, box.cy + dy * scale


def _edge(edge: ModelGraphEdge, boxes: Mapping[str, _Box], back: bool) -> tuple[str, float, float]:
    """The edge's SVG and the highest and lowest y it may reach."""
    source, target = boxes[edge.source], boxes[edge.target]
    label = escape(edge.label)
    title = f"<title>{escape(edge.source)} → {escape(edge.target)}: {label}</title>"
    if edge.source == edge.target:
        x0, x1, y = source.cx - 12, source.cx + 12, source.y
        path = (
            f"M{x0:.1f},{y:.1f} C{x0 - 14:.1f},{y - 34:.1f} {x1 + 14:.1f},{y - 34:.1f} "
            f"{x1:.1f},{y:.1f}"
        )
        text_x, text_y = source.cx, y - 30
        reach = (y - 40, y)
    else:
        dx, dy = target.cx - source.cx, target.cy - source.cy
        length = math.hypot(dx, dy) or 1.0
        mx, my = (source.cx + target.cx) / 2, (source.cy + target.cy) / 2
        if back:  # an edge back arcs under the states it passes
            lowest = max(source.y + source.h, target.y + target.h)
            qx, qy = mx, lowest + min(0.25 * length, 140.0)
        else:  # a forward one bends a little, so the two directions of a pair stay apart
            bend = min(40.0, 0.12 * length)
            qx, qy = mx - dy / length * bend, my + dx / length * bend  # control point
        x0, y0 = _clip(source, qx - source.cx, qy - source.cy)
        x1, y1 = _clip(target, qx - target.cx, qy - target.cy)
        path = f"M{x0:.1f},{y0:.1f} Q{qx:.1f},{qy:.1f} {x1:.1f},{y1:.1f}"
        text_x, text_y = (x0 + 2 * qx + x1) / 4, (y0 + 2 * qy + y1) / 4 - 3
        reach = (min(y0, qy, y1), max(y0, qy, y1))
    parts = [
        f'<g class="edge">{title}<path d="{path}" fill="none" stroke="#777" '
        'stroke-width="1.2" marker-end="url(#arrow)"/>'
    ]
    if label:
        parts.append(
            f'<text x="{text_x:.1f}" y="{text_y:.1f}" text-anchor="middle" '
            f'class="edge-label">{label}</text>'
        )
    parts.append("</g>")
    return "".join(parts), reach[0], reach[1]


def _node(
    node_name: str, node: ModelGraphNode, box: _Box, counted: bool, counts: Mapping[str, int]
) -> str:
    fill = _FILL[node.kind]
    if node.kind == "start":
        return f'<circle cx="{box.cx:.1f}" cy="{box.cy:.1f}" r="7" fill="{fill}"/>'
    label = escape(node.label)
    dashed = ' stroke-dasharray="5 3"' if node.kind == "terminal_like" else ""
    stroke = "#b00020" if node.kind == "error" else "#556"
    radius = 14 if node.kind in ("orchestrator", "topic_in", "topic_out") else 6
    shape = (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="{radius}" fill="{fill}" stroke="{stroke}"{dashed}/>'
    )
    if not (counted and node.kind != "any_state"):
        text = (
            f'<text x="{box.cx:.1f}" y="{box.cy + 4:.1f}" text-anchor="middle" '
            f'class="node-label">{label}</text>'
        )
        return f'<g class="node">{shape}{text}</g>'
    key = escape(count_key(node_name, node.id))
    return (
        f'<g class="node state" data-state="{escape(node.id)}">{shape}'
        f'<text x="{box.cx:.1f}" y="{box.y + 17:.1f}" text-anchor="middle" '
        f'class="node-label">{label}</text>'
        f'<text x="{box.cx:.1f}" y="{box.y + 35:.1f}" text-anchor="middle" class="count" '
        f'data-k="{key}">{counts.get(node.id, 0)}</text></g>'
    )
