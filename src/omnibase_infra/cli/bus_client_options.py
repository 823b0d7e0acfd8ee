"""What ``onex-infra send`` and ``onex-infra tail`` share: where the bus is (the runtime's
ingress, or Kafka brokers straight), the bearer token, the config whose Kafka TLS/SASL settings
apply, and how a refusal by the ingress reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from omnibase_infra.ingress.errors import IngressRequestError

__all__ = [
    "DEFAULT_INGRESS_PORT",
    "IngressOption",
    "KafkaConfigOption",
    "KafkaOption",
    "TokenOption",
    "ingress_url",
    "refusal",
]

DEFAULT_INGRESS_PORT = 8083

IngressOption = Annotated[
    str | None,
    typer.Option(
        "--ingress",
        help=f"The runtime's ingress URL (default: http://127.0.0.1:{DEFAULT_INGRESS_PORT}).",
        show_default=False,
    ),
]
KafkaOption = Annotated[
    str | None,
    typer.Option("--kafka", help="Straight to these Kafka brokers instead of the ingress."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", help="Bearer token by reference: env://NAME or file:///path (never literal)."
    ),
]
KafkaConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Runtime config (Kafka TLS/SASL; default $ONEX_CONFIG)."),
]


def ingress_url(given: str | None) -> str:
    """``--ingress`` when given, else the local runtime's default one."""
    return given or f"http://127.0.0.1:{DEFAULT_INGRESS_PORT}"


def refusal(exc: IngressRequestError) -> str:
    """The line saying the ingress refused: its status, message and when to retry (if said);
    rich markup, the message escaped."""
    from rich.markup import escape

    retry = f" (retry after {exc.headers['Retry-After']} s)" if "Retry-After" in exc.headers else ""
    return f"[red]refused (HTTP {exc.status}):[/red] {escape(exc.message)}{retry}"
