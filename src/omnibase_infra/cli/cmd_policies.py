"""``onex-infra policies list``: the named policies a config registers and who uses them.

Reads what ``run`` reads (the config's ``policies`` section, its files and allowlisted modules;
the contracts of ``contract_dirs`` and ``--contracts``) and prints each ``name@version`` with its
kind, source, content hash and the contracts referring to it. A bad policy or an unknown
reference exits 2 naming the file, the field and the reason, as ``run`` would stop.
"""

from __future__ import annotations

import json

import typer
from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from omnibase_infra.cli.cmd_runtime import ConfigOption, ContractsOption, load_config, print_error
from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

__all__ = ["register"]


def policies_list(
    config: ConfigOption = None,
    contracts: ContractsOption = None,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """List the registered policies (name@version, kind, source, SHA-256, used by)."""
    from omnibase_infra.errors import ProtocolConfigurationError
    from omnibase_infra.runtime.contracts.contract_loader import (
        discover_contract_files,
        load_contracts,
    )
    from omnibase_infra.runtime.policies.loader import build_policy_registry
    from omnibase_infra.runtime.policies.routing import routing_policy

    try:
        loaded = load_config(config, contracts)
        allowlist = loaded.allowlist
        registry = build_policy_registry(
            loaded.policies, allowlist=allowlist, config_file=loaded.source_file
        )
        files = discover_contract_files(
            loaded.contract_dirs, allowlist=allowlist, use_entry_points=loaded.use_entry_points
        )
        found = load_contracts(files, allowlist=allowlist, policies=registry)
        routing = routing_policy(loaded, file=loaded.source_file or "runtime config")
    except ProtocolConfigurationError as exc:
        print_error("policy error", exc.message)
        raise typer.Exit(2) from None
    used_by: dict[str, list[str]] = {}
    if routing is not None:
        used_by[routing.policy_id] = ["runtime config (event_bus.retry_policy)"]
    for contract in found:
        for field, policy_id in sorted(contract.policy_refs.items()):
            used_by.setdefault(policy_id, []).append(f"{contract.name} ({field})")
    rows: list[JsonValue] = [
        {
            "policy": policy_id,
            "name": entry.definition.name,
            "version": entry.definition.version,
            "kind": entry.definition.kind.value,
            "source": entry.source,
            "sha256": entry.sha256,
            "settings": entry.definition.body().model_dump(
                mode="json", exclude_defaults=True, exclude={"version"}
            ),
            "used_by": list(used_by.get(policy_id, [])),
        }
        for policy_id, entry in sorted(registry.entries().items())
    ]
    if output is EnumOutputFormat.JSON:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} polic{'y' if len(rows) == 1 else 'ies'}")
    for column in ("policy", "kind", "settings", "source", "sha256", "used by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        assert isinstance(row, dict)
        used = row["used_by"]
        assert isinstance(used, list)
        table.add_row(
            escape(str(row["policy"])),
            str(row["kind"]),
            escape(json.dumps(row["settings"], sort_keys=True)),
            escape(str(row["source"])),
            str(row["sha256"])[:12],
            escape("\n".join(str(item) for item in used)),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``policies list`` to ``app``."""
    policies_app = typer.Typer(help="Inspect the policy registry.", no_args_is_help=True)
    policies_app.command("list")(policies_list)
    app.add_typer(policies_app, name="policies")
