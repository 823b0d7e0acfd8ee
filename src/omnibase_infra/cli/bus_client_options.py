"""What ``onex-infra send`` and ``onex-infra tail`` share: where the bus is (the runtime's
ingress, or Kafka brokers straight), the bearer token, the config whose Kafka TLS/SASL settings
apply, and how a refusal by the ingress reads.

The ingress's default address follows ``$ONEX_INGRESS__PORT``, the variable that moves the
runtime's ingress: a shell that runs its runtime on another port (a second user on the machine)
reaches it with no ``--ingress``.
"""

from __future__ import annotations

import os
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
        help="The runtime's ingress URL (default: http://127.0.0.1 on $ONEX_INGRESS__PORT, "
        f"else {DEFAULT_INGRESS_PORT}).",
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
    """``--ingress`` when given, else the local runtime's: ``$ONEX_INGRESS__PORT`` (a port
    number; 0 or anything else is ignored) or 8083, on 127.0.0.1."""
    if given:
        return given
    port = os.environ.get("ONEX_INGRESS__PORT", "").strip()
    chosen = int(port) if port.isdigit() and 0 < int(port) < 65536 else DEFAULT_INGRESS_PORT
    return f"http://127.0.0.1:{chosen}"


def refusal(exc: IngressRequestError) -> str:
    """The line saying the ingress refused: its status, message and when to retry (if said);
    rich markup, the message escaped."""
    from rich.markup import escape

    retry = f" (retry after {exc.headers['Retry-After']} s)" if "Retry-After" in exc.headers else ""
    return f"[red]refused (HTTP {exc.status}):[/red] {escape(exc.message)}{retry}"
