"""``onex-infra registry list``: the registrations a running runtime holds, as a table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

__all__ = ["register"]

HubOption = Annotated[
    str, typer.Option("--hub", help="Base URL of the runtime's hub.", envvar="ONEX_HUB_URL")
]


def registry_list(
    hub: HubOption = "http://127.0.0.1:8085",
    state: Annotated[str | None, typer.Option(help="Only registrations in this state.")] = None,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """List current registrations: node, state, last heartbeat, each backend's status."""
    import httpx

    from omnibase_infra.nodes.registration.models.model_registry_listing import (
        ModelRegistryListing,
    )

    console = Console(stderr=output is EnumOutputFormat.JSON)
    pages: list[ModelRegistryListing] = []
    params: dict[str, str] = {"state": state} if state else {}
    with httpx.Client(base_url=hub.rstrip("/"), timeout=10.0, trust_env=False) as client:
        while True:  # page by page (the hub answers at most a bounded page at a time)
            try:
                reply = client.get("/registry", params=params)
                reply.raise_for_status()
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot read {hub}/registry:[/red] {type(exc).__name__}: {exc}")
                raise typer.Exit(1) from None
            pages.append(ModelRegistryListing.model_validate_json(reply.content))
            if pages[-1].next is None:
                break
            params["after"] = pages[-1].next
    listing = pages[-1]
    if output is EnumOutputFormat.JSON:
        print_json(
            {
                "nodes": [n.model_dump(mode="json") for page in pages for n in page.nodes],
                "by_state": dict(listing.by_state),
            }
        )
        return
    table = Table(title=f"{sum(page.count for page in pages)} registration(s)")
    for column in (
        "node",
        "id",
        "type",
        "version",
        "state",
        "last heartbeat",
        "storage",
        "discovery",
    ):
        table.add_column(column, no_wrap=column in ("node", "id"))
    for node in (node for page in pages for node in page.nodes):
        table.add_row(
            node.node_name,
            str(node.node_id)[:8],
            node.node_type,
            node.node_version,
            node.state,
            node.last_heartbeat_at.strftime("%H:%M:%S"),
            node.storage_status,
            node.discovery_status,
        )
    console.print(table)
    console.print(", ".join(f"{n} {s}" for s, n in sorted(listing.by_state.items())) or "empty")


def register(app: typer.Typer) -> None:
    """Add ``registry list`` to ``app``."""
    registry_app = typer.Typer(help="Query node registrations.", no_args_is_help=True)
    registry_app.command("list")(registry_list)
    app.add_typer(registry_app, name="registry")
