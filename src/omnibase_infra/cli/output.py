"""What every command shares about output: ``-o table|json``, and how chatty logging is.

Tables and progress go to stdout; logs and errors to stderr. Commands that do not serve log
warnings only unless ``-v`` is given, so a table is never interleaved with log lines.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import JsonValue

__all__ = [
    "EnumOutputFormat",
    "OutputOption",
    "cli_log_level",
    "is_verbose",
    "print_json",
    "set_verbose",
]


class EnumOutputFormat(StrEnum):
    """How a list or show command prints its result."""

    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    EnumOutputFormat,
    typer.Option("--output", "-o", help="table (default) or json (one document on stdout)."),
]

_verbose = False


def set_verbose(verbose: bool) -> None:
    """Record ``-v`` for the command about to run, and apply its log level."""
    from omnibase_infra.observability.logging import configure_logging

    global _verbose
    _verbose = verbose
    configure_logging(cli_log_level(), "auto")


def cli_log_level() -> str:
    """The log level of a non-serving command: INFO with ``-v``, else WARNING."""
    return "INFO" if _verbose else "WARNING"


def is_verbose() -> bool:
    """Whether ``-v`` was given (commands then log their traceback on an unexpected error)."""
    return _verbose


def print_json(value: JsonValue) -> None:
    """One indented JSON document on stdout."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
