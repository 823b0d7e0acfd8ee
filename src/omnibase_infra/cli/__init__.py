"""``onex-infra``: the command line of the runtime.

Each ``cmd_<area>`` module adds its commands through ``register(app)``; heavy imports happen
inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app", "main"]

# One line per command module; a module defines ``register(app: typer.Typer) -> None``.
_COMMAND_MODULES: tuple[str, ...] = (
    "omnibase_infra.cli.cmd_runtime",
    "omnibase_infra.cli.cmd_contracts",
    "omnibase_infra.cli.cmd_demo",
    "omnibase_infra.cli.cmd_dlq",
    "omnibase_infra.cli.cmd_registry",
)

app = typer.Typer(
    name="onex-infra",
    help="ONEX infrastructure runtime: run nodes, validate contracts, inspect the bus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register_commands() -> None:
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


def main() -> None:
    """Entry point of the ``onex-infra`` script."""
    _register_commands()
    app()
