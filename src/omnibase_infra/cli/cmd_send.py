"""``onex-infra send TOPIC --payload-type T --data @file.json``: one event into the bus.

Through the runtime's ingress (``--ingress``, default ``http://127.0.0.1:8083``) or straight to
Kafka (``--kafka BOOTSTRAP``, with the config's TLS/SASL settings). Prints the envelope and
correlation ids (``-o json``: one document). Exit 0 when accepted, 2 for a wrong request
(topic, shape, configuration), 1 when refused otherwise (auth, rate, size) or unreachable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

if TYPE_CHECKING:
    from omnibase_infra.ingress.errors import IngressRequestError
    from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted

__all__ = ["register"]

_errors = Console(stderr=True, soft_wrap=True)
DEFAULT_INGRESS = "http://127.0.0.1:8083"


def send(
    topic: Annotated[str, typer.Argument(help="onex.<cmd|evt>.<producer>.<event>.v<N>")],
    data: Annotated[
        str,
        typer.Option("--data", "-d", help="JSON: @file, - (stdin) or the text itself."),
    ],
    payload_type: Annotated[
        str | None,
        typer.Option(
            "--payload-type", help="The data is a bare payload of this type (absent: an envelope)."
        ),
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="UUID (absent: one is made).")
    ] = None,
    ingress: Annotated[
        str, typer.Option("--ingress", help="The runtime's ingress URL.")
    ] = DEFAULT_INGRESS,
    kafka: Annotated[
        str | None,
        typer.Option("--kafka", help="Publish straight to these Kafka brokers instead."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Bearer token by reference: env://NAME or file:///path (never literal)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Runtime config (Kafka TLS/SASL; default $ONEX_CONFIG)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait.")] = 10.0,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """Send one event to a topic through the ingress (or straight to Kafka)."""
    from omnibase_infra.cli.send import ModelSendRequest, read_data
    from omnibase_infra.errors import ProtocolConfigurationError, RuntimeHostError
    from omnibase_infra.ingress.errors import IngressRequestError

    try:
        request = ModelSendRequest(
            topic=topic,
            data=read_data(data),
            payload_type=payload_type,
            correlation_id=UUID(correlation_id) if correlation_id else None,
        )
        if kafka is not None:
            from omnibase_infra.cli.send import send_to_kafka
            from omnibase_infra.runtime.config import load_runtime_config

            accepted = asyncio.run(send_to_kafka(request, load_runtime_config(config), kafka))
        else:
            from omnibase_infra.cli.send import send_to_ingress

            accepted = asyncio.run(
                send_to_ingress(request, ingress, token=token, timeout_seconds=timeout)
            )
    except (OSError, ValueError) as exc:  # an unreadable @file, a correlation id not a UUID
        _errors.print(f"[red]cannot send:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except IngressRequestError as exc:
        _refused(exc)
    except ProtocolConfigurationError as exc:
        _errors.print(f"[red]configuration error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot send:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    _print(accepted, output)


def _refused(exc: IngressRequestError) -> NoReturn:
    retry = f" (retry after {exc.headers['Retry-After']} s)" if "Retry-After" in exc.headers else ""
    _errors.print(f"[red]refused (HTTP {exc.status}):[/red] {escape(exc.message)}{retry}")
    raise typer.Exit(2 if exc.status == 422 else 1)


def _print(accepted: ModelIngressAccepted, output: EnumOutputFormat) -> None:
    if output is EnumOutputFormat.JSON:
        print_json(accepted.model_dump(mode="json"))
        return
    typer.echo(f"accepted on {accepted.topic}")
    typer.echo(f"envelope id:    {accepted.envelope_id}")
    typer.echo(f"correlation id: {accepted.correlation_id}")


def register(app: typer.Typer) -> None:
    """Add the ``send`` command."""
    app.command("send")(send)
