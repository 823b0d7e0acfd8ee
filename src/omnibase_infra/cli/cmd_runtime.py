"""``onex-infra run`` and ``validate``; the config and contract options other commands share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig
    from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
    from omnibase_infra.runtime.policies.registry import PolicyRegistry

__all__ = ["ConfigOption", "ContractsOption", "load_config", "print_error", "register"]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Runtime config YAML (default: $ONEX_CONFIG, else none)."),
]
ContractsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--contracts",
        help="Directory of node contracts, added to the config's contract_dirs (repeatable).",
    ),
]


def load_config(
    config: Path | None, contracts: list[Path] | None, **overrides: JsonValue
) -> ModelRuntimeConfig:
    """The runtime config of ``--config`` (or $ONEX_CONFIG), ``--contracts`` added to it.

    ``--contracts`` adds to the config's ``contract_dirs``; it does not replace them.
    """
    from omnibase_infra.runtime.config import load_runtime_config

    extra: dict[str, JsonValue] = {k: v for k, v in overrides.items() if v is not None}
    loaded = load_runtime_config(config, **extra)
    if not contracts:
        return loaded
    dirs: list[JsonValue] = [str(p) for p in (*loaded.contract_dirs, *contracts)]
    return load_runtime_config(config, **extra, contract_dirs=dirs)


def run(
    config: ConfigOption = None,
    contracts: ContractsOption = None,
    http_port: Annotated[int | None, typer.Option(help="Hub port (0 = any free port).")] = None,
    log_format: Annotated[str | None, typer.Option(help="json, console or auto.")] = None,
) -> None:
    """Run the runtime host (local profile by default) until SIGTERM or Ctrl-C."""
    from omnibase_infra.errors import ProtocolConfigurationError, RuntimeHostError
    from omnibase_infra.runtime.launch import run_event_loop, serve_runtime

    try:
        loaded = load_config(
            config,
            contracts,
            http={"port": http_port} if http_port is not None else None,
            log_format=log_format,
        )
        code = run_event_loop(serve_runtime(loaded))
    except ProtocolConfigurationError as exc:
        print_error("configuration error", exc.message)
        raise typer.Exit(2) from None
    except RuntimeHostError as exc:  # e.g. the hub's port taken, a dependency unreachable
        print_error("cannot start", exc.message)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def print_error(what: str, message: str) -> None:
    """One red line on stderr; the message is sanitised already and printed as plain text."""
    Console(stderr=True).print(f"[red]{what}:[/red]", escape(message))


def validate(
    config: ConfigOption = None,
    contracts: ContractsOption = None,
) -> None:
    """Validate every contract, import its handlers and check node packages (naming, no Any);
    exit 1 on problems, 2 when the configuration or a contract directory is unusable."""
    from omnibase_infra.declarative.checks import compute_result_problems, declarative_problems
    from omnibase_infra.errors import ProtocolConfigurationError
    from omnibase_infra.runtime.contracts.architecture_checks import check_python_files
    from omnibase_infra.runtime.contracts.contract_loader import (
        ContractLoadError,
        discover_contract_files,
        load_contracts,
    )
    from omnibase_infra.runtime.contracts.plugin_loader import (
        DEFAULT_ALLOWLIST,
        route_import_problems,
    )
    from omnibase_infra.runtime.effect_wiring import fallback_problems
    from omnibase_infra.runtime.policies.loader import build_policy_registry

    console = Console()
    try:
        loaded = load_config(config, contracts)
        allowlist = (*DEFAULT_ALLOWLIST, *loaded.plugin_allowlist)
        files = discover_contract_files(
            loaded.contract_dirs, allowlist=allowlist, use_entry_points=loaded.use_entry_points
        )
        # A bad policy stops run before any contract loads; validate reports it the same way.
        policies = build_policy_registry(
            loaded.policies, allowlist=allowlist, config_file=loaded.source_file
        )
    except ProtocolConfigurationError as exc:  # nothing to validate: say why, as run does
        print_error("configuration error", exc.message)
        raise typer.Exit(2) from None
    table = Table(title="Problems", show_lines=False)
    for column in ("file", "field / line", "rule", "reason"):
        table.add_column(column, overflow="fold")
    problems = 0
    try:
        found = load_contracts(files, allowlist=allowlist, policies=policies)
    except ContractLoadError as exc:
        for error in exc.errors:
            cells = (error.file or "", error.field or "", "contract", error.reason)
            table.add_row(*(escape(cell) for cell in cells))
        problems += len(exc.errors)
        # The valid contracts still get their imports checked: every problem in one run.
        found = [c for path in files if (c := _loads_alone(path, allowlist, policies)) is not None]
    for rule, errors in (
        ("import", route_import_problems(found, allowlist)),
        ("workflow", [*compute_result_problems(found), *declarative_problems(found)]),
        ("effect", fallback_problems(found)),
    ):
        for error in errors:
            cells = (error.file or "", error.field or "", rule, error.reason)
            table.add_row(*(escape(cell) for cell in cells))
            problems += 1
    python_files = sorted({p for c in found for p in c.path.parent.rglob("*.py")})
    for violation in check_python_files(python_files):
        table.add_row(
            escape(violation.file), str(violation.line), violation.rule, escape(violation.message)
        )
        problems += 1
    if problems:
        console.print(table)
        console.print(f"[red]{problems} problem(s)[/red] in {len(files)} contract(s)")
        raise typer.Exit(1)
    console.print(
        f"[green]ok[/green]: {len(found)} contract(s), {len(python_files)} Python file(s) checked"
    )
    _print_whose(console, found, loaded.contract_dirs)


def _print_whose(
    console: Console, found: Sequence[ModelNodeContract], contract_dirs: Sequence[Path]
) -> None:
    """Which of the checked nodes came from the config's ``contract_dirs`` (one's own), and how
    many are the runtime's own: a node missing from the first line was not found there."""
    dirs = [d.resolve() for d in contract_dirs]
    own = sorted(c.name for c in found if any(c.path.resolve().is_relative_to(d) for d in dirs))
    console.print(
        f"  from contract_dirs: {escape(', '.join(own)) if own else 'none'}", soft_wrap=True
    )
    console.print(
        f"  built in: {len(found) - len(own)} (`onex-infra contracts list` shows every node)"
    )


def _loads_alone(
    path: Path, allowlist: tuple[str, ...], policies: PolicyRegistry
) -> ModelNodeContract | None:
    """The contract of ``path`` if it is valid on its own, else None (its error is listed)."""
    from omnibase_infra.errors import ProtocolConfigurationError
    from omnibase_infra.runtime.contracts.contract_loader import load_contract

    try:
        return load_contract(path, allowlist=allowlist, policies=policies)
    except ProtocolConfigurationError:
        return None


def register(app: typer.Typer) -> None:
    """Add the runtime commands to ``app``."""
    app.command("run")(run)
    app.command("validate")(validate)
