"""``onex-infra config show`` and ``config docs``: the configuration a runtime starts with, and
the reference of every setting."""

from __future__ import annotations

import typer

from omnibase_infra.cli.cmd_runtime import ConfigOption, ContractsOption, load_config, print_error
from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

__all__ = ["register"]


def config_show(
    config: ConfigOption = None,
    contracts: ContractsOption = None,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """Print the configuration ``run`` would start with: file, ONEX_* variables and defaults
    merged (YAML, or JSON with -o json). Secrets stay references; secret values are masked."""
    import yaml

    from omnibase_infra.errors import ProtocolConfigurationError

    try:
        loaded = load_config(config, contracts)
    except ProtocolConfigurationError as exc:
        print_error("configuration error", exc.message)
        raise typer.Exit(2) from None
    shown = loaded.model_dump(mode="json")
    if output is EnumOutputFormat.JSON:
        print_json(shown)
        return
    typer.echo(yaml.safe_dump(shown, sort_keys=False, width=100), nl=False)


def config_docs() -> None:
    """Print the reference of every setting (Markdown; docs/configuration.md is this output)."""
    from omnibase_infra.cli.config_reference import render_config_reference
    from omnibase_infra.runtime.config import ModelRuntimeConfig

    typer.echo(render_config_reference(ModelRuntimeConfig), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``config show`` and ``config docs`` to ``app``."""
    config_app = typer.Typer(help="Show the runtime's configuration.", no_args_is_help=True)
    config_app.command("show")(config_show)
    config_app.command("docs")(config_docs)
    app.add_typer(config_app, name="config")
