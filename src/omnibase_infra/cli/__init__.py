"""``onex-infra``: the command line of the runtime.

Each ``cmd_<area>`` module adds its commands through ``register(app)``; heavy imports happen
inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

__all__ = ["app", "main"]

# One line per command module; a module defines ``register(app: typer.Typer) -> None``.
_COMMAND_MODULES: tuple[str, ...] = (
    "omnibase_infra.cli.cmd_runtime",
    "omnibase_infra.cli.cmd_contracts",
    "omnibase_infra.cli.cmd_demo",
    "omnibase_infra.cli.cmd_dlq",
    "omnibase_infra.cli.cmd_registry",
    "omnibase_infra.cli.cmd_config",
    "omnibase_infra.cli.cmd_schema",
    "omnibase_infra.cli.cmd_send",
    "omnibase_infra.cli.cmd_tail",
    "omnibase_infra.cli.cmd_policies",
)

app = typer.Typer(
    name="onex-infra",
    help="ONEX infrastructure runtime: run nodes, validate contracts, inspect the bus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"onex-infra {version('omnibase_infra')}")
        raise typer.Exit


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log INFO lines (and tracebacks) on stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Options every command takes; ``run`` logs as its config says."""
    from omnibase_infra.cli.output import set_verbose

    set_verbose(verbose)


def _register_commands() -> None:
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


def _fail(exc: Exception) -> int:
    """One clear line on stderr for an error no command handled; the traceback only with -v."""
    from omnibase_infra.cli.output import is_verbose
    from omnibase_infra.errors import RuntimeHostError
    from omnibase_infra.observability.logging import get_logger
    from omnibase_infra.sanitize import sanitize_text

    if isinstance(exc, RuntimeHostError):
        line = sanitize_text(str(exc.message))
    else:
        line = f"{type(exc).__name__}: {sanitize_text(str(exc))}"
    hint = "" if is_verbose() else " (run with -v for the traceback)"
    print(f"error: {line}{hint}", file=sys.stderr)
    if is_verbose():
        get_logger(__name__).error("command failed", exc_info=exc)
    return 1


def main() -> None:
    """Entry point of the ``onex-infra`` script."""
    _register_commands()
    try:
        app()
    except Exception as exc:  # the one place a CLI turns any error into one line
        raise SystemExit(_fail(exc)) from None
