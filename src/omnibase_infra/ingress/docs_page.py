"""``/docs``: an OpenAPI document rendered as one self-contained HTML page.

No script and no stylesheet is fetched (the page works offline and without a CDN): every
operation, its parameters and responses are written out as HTML; the machine-readable document
is linked at ``/openapi.json``.
"""

from __future__ import annotations

from html import escape

from pydantic import JsonValue

__all__ = ["render_docs_page"]

_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
    "code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
)


def render_docs_page(openapi: dict[str, JsonValue]) -> str:
    """The page for ``openapi`` (FastAPI's generated document)."""
    info = openapi.get("info")
    title = str(info.get("title", "API")) if isinstance(info, dict) else "API"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
        "<p>Machine-readable description: <a href='/openapi.json'>/openapi.json</a></p>",
    ]
    paths = openapi.get("paths")
    for path, operations in paths.items() if isinstance(paths, dict) else []:
        if not isinstance(operations, dict):
            continue
        for method, operation in operations.items():
            if isinstance(operation, dict):
                parts.append(_operation(method, path, operation))
    parts.append("</body></html>")
    return "".join(parts)


def _operation(method: str, path: str, operation: dict[str, JsonValue]) -> str:
    html = [f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>"]
    for key in ("summary", "description"):
        text = operation.get(key)
        if isinstance(text, str):
            html.append(f"<p>{escape(text)}</p>")
    parameters = operation.get("parameters")
    if isinstance(parameters, list) and parameters:
        html.append("<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>required</th>")
        html.append("<th>description</th></tr>")
        for parameter in parameters:
            if isinstance(parameter, dict):
                html.append(
                    "<tr>"
                    + "".join(
                        f"<td>{escape(str(parameter.get(k, '')))}</td>"
                        for k in ("name", "in", "required", "description")
                    )
                    + "</tr>"
                )
        html.append("</table>")
    body = operation.get("requestBody")
    if isinstance(body, dict) and isinstance(body.get("description"), str):
        html.append(f"<h3>Body</h3><p>{escape(str(body['description']))}</p>")
    responses = operation.get("responses")
    if isinstance(responses, dict):
        html.append("<h3>Responses</h3><table><tr><th>status</th><th>meaning</th></tr>")
        for status, response in responses.items():
            meaning = response.get("description", "") if isinstance(response, dict) else ""
            html.append(f"<tr><td>{escape(status)}</td><td>{escape(str(meaning))}</td></tr>")
        html.append("</table>")
    return "".join(html)
