"""``onex-infra contracts list`` / ``contracts graph`` and ``onex-infra asyncapi``.

All three read the contracts ``run`` would load (entry points plus ``contract_dirs`` from the
config file and ``--contracts``). Graphs and the AsyncAPI document go to stdout (or a file), so
they pipe; logs and errors go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from omnibase_infra.cli.cmd_runtime import ConfigOption, ContractsOption, load_config, print_error
from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig
    from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract

__all__ = ["register"]


def _loaded(
    config: Path | None, contracts: list[Path] | None
) -> tuple[ModelRuntimeConfig, tuple[str, ...], list[ModelNodeContract]]:
    """The config, the import allowlist and every contract; a bad one exits 2 with its reason."""
    from omnibase_infra.errors import ProtocolConfigurationError
    from omnibase_infra.runtime.contracts.contract_loader import (
        discover_contract_files,
        load_contracts,
    )
    from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
    from omnibase_infra.runtime.policies.loader import build_policy_registry

    try:
        loaded = load_config(config, contracts)
        allowlist = (*DEFAULT_ALLOWLIST, *loaded.plugin_allowlist)
        files = discover_contract_files(
            loaded.contract_dirs, allowlist=allowlist, use_entry_points=loaded.use_entry_points
        )
        policies = build_policy_registry(
            loaded.policies, allowlist=allowlist, config_file=loaded.source_file
        )
        return loaded, allowlist, load_contracts(files, allowlist=allowlist, policies=policies)
    except ProtocolConfigurationError as exc:
        print_error("contract error", exc.message)
        raise typer.Exit(2) from None


def contracts_list(
    config: ConfigOption = None,
    contracts: ContractsOption = None,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """List the node contracts the runtime would load, with their topics and handlers."""
    _, _, found = _loaded(config, contracts)
    if output is EnumOutputFormat.JSON:
        print_json(
            [
                {
                    "node": c.name,
                    "archetype": c.archetype.value,
                    "version": c.version,
                    "file": str(c.path),
                    "subscribes": list(c.subscribe_topics),
                    "publishes": list(c.publish_topics),
                    "handlers": {r.payload_type or "*": r.handler_class for r in c.routes},
                }
                for c in found
            ]
        )
        return
    table = Table(title=f"{len(found)} node contract(s)")
    for column in ("node", "archetype", "version", "subscribes", "publishes", "handlers"):
        table.add_column(column, overflow="fold")
    for contract in found:
        table.add_row(
            contract.name,
            contract.archetype.value,
            contract.version,
            "\n".join(contract.subscribe_topics),
            "\n".join(contract.publish_topics),
            "\n".join(f"{r.payload_type or '*'} -> {r.handler_class}" for r in contract.routes),
        )
    Console().print(table)


def contracts_graph(
    node: Annotated[
        str | None, typer.Argument(help="Node name (default: every node with one).")
    ] = None,
    graph_format: Annotated[
        Literal["mermaid", "dot"], typer.Option("--format", help="mermaid or dot.")
    ] = "mermaid",
    config: ConfigOption = None,
    contracts: ContractsOption = None,
) -> None:
    """Draw each reducer's FSM and each orchestrator's workflow from its contract (stdout)."""
    from omnibase_infra.runtime.documents.contract_graphs import (
        has_graph,
        missing_graph_reason,
        render_contract_graph,
    )

    _, _, found = _loaded(config, contracts)
    with_graph = sorted((c for c in found if has_graph(c)), key=lambda c: c.name)
    if node is None:
        chosen = with_graph
    else:
        chosen = [c for c in found if c.name == node]
        if not chosen:
            names = ", ".join(sorted(c.name for c in found))
            print_error("no such node", f"{node} is not among the loaded contracts ({names})")
            raise typer.Exit(1)
        if not has_graph(chosen[0]):
            drawable = ", ".join(c.name for c in with_graph) or "none"
            print_error(
                "nothing to draw",
                f"{missing_graph_reason(chosen[0])}. Nodes with a graph: {drawable}",
            )
            raise typer.Exit(1)
    if not chosen:
        print_error("nothing to draw", "no loaded contract declares an FSM or a workflow")
        raise typer.Exit(1)
    typer.echo("\n".join(render_contract_graph(c, graph_format) for c in chosen), nl=False)


def asyncapi(
    output: Annotated[
        Path | None, typer.Option("--file", "-f", help="Write here instead of stdout.")
    ] = None,
    document_format: Annotated[
        Literal["yaml", "json"], typer.Option("--format", help="yaml or json.")
    ] = "yaml",
    config: ConfigOption = None,
    contracts: ContractsOption = None,
) -> None:
    """Write an AsyncAPI 3.0 document of every topic the loaded nodes publish and subscribe."""
    import yaml

    from omnibase_infra.errors import ProtocolConfigurationError
    from omnibase_infra.runtime.documents.asyncapi import build_asyncapi_document

    loaded, allowlist, found = _loaded(config, contracts)
    try:
        document = build_asyncapi_document(found, loaded, allowlist=allowlist)
    except ProtocolConfigurationError as exc:
        print_error("contract error", exc.message)
        raise typer.Exit(2) from None
    if document_format == "json":
        text = json.dumps(document, indent=2) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    channels = document["channels"]
    count = len(channels) if isinstance(channels, dict) else 0
    Console(stderr=True).print(f"wrote {output}: AsyncAPI 3.0, {count} channel(s)")


def contracts_docs() -> None:
    """Print the contract.yaml reference (Markdown; docs/reference/contracts.md is this
    output), generated from core's contract models and this runtime's rules."""
    from omnibase_infra.cli.contract_reference import render_contract_reference

    typer.echo(render_contract_reference(), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``contracts list``, ``contracts graph``, ``contracts docs`` and ``asyncapi`` to
    ``app``."""
    contracts_app = typer.Typer(help="Inspect node contracts.", no_args_is_help=True)
    contracts_app.command("list")(contracts_list)
    contracts_app.command("graph")(contracts_graph)
    contracts_app.command("docs")(contracts_docs)
    app.add_typer(contracts_app, name="contracts")
    app.command("asyncapi")(asyncapi)
