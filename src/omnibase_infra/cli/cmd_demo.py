"""``onex-infra demo``: register a simulated fleet on the zero-configuration runtime."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["register"]

_STATE_STYLE = {"active": "green", "expired": "yellow", "deregistered": "cyan"}


def demo(
    nodes: Annotated[int, typer.Option(min=4, max=5000, help="Simulated nodes.")] = 50,
    crash: Annotated[int, typer.Option(min=0, help="Nodes that die without a word.")] = 3,
    shutdown: Annotated[int, typer.Option(min=0, help="Nodes that shut down cleanly.")] = 2,
    http_port: Annotated[int, typer.Option(help="Hub port while it runs (0: any).")] = 0,
) -> None:
    """Run the runtime (local profile) and watch N nodes register, live, and die."""
    from omnibase_infra.cli.demo import count_states, run_demo
    from omnibase_infra.cli.output import is_verbose
    from omnibase_infra.runtime.launch import run_event_loop

    console = Console()
    console.print(
        "[bold]ONEX runtime demo[/bold]: in-memory bus, embedded PostgreSQL, local discovery"
    )
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        report = run_event_loop(
            run_demo(
                nodes,
                crash=crash,
                shutdown=shutdown,
                http_port=http_port,
                progress=progress,
                log_level="INFO" if is_verbose() else "ERROR",
            )
        )
    table = Table(title=f"Registrations ({len(report.nodes)} nodes, {report.seconds}s)")
    table.add_column("node", no_wrap=True)
    for column in ("role", "state", "last beat", "storage", "discovery"):
        table.add_column(column)
    for node in sorted(report.nodes, key=lambda n: (n.final_state, n.node_name)):
        style = _STATE_STYLE.get(node.final_state, "red")
        table.add_row(
            node.node_name,
            node.role,
            f"[{style}]{node.final_state}[/{style}]"
            + ("" if node.as_expected else " [red]![/red]"),
            "-" if node.last_heartbeat_age_s is None else f"{node.last_heartbeat_age_s}s",
            node.storage_status,
            node.discovery_status,
        )
    console.print(table)
    states = ", ".join(
        f"{count} {state}" for state, count in sorted(count_states(report.nodes).items())
    )
    console.print(
        f"{states}; garbage message dead-lettered: {report.dead_lettered}; invalid "
        f"introspections rejected: {report.rejected_events}; messages: {report.outcomes}"
    )
    console.print("[dim]* introspected in the published omnibase-infra payload shape[/dim]")
    if not report.ok:
        for problem in report.problems:
            console.print(f"[red]problem:[/red] {problem}")
        raise typer.Exit(1)
    console.print("[green]every node ended where it should[/green]")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
