"""``onex-infra send TOPIC --payload-type T --data @file.json``: events into the bus.

One JSON document is one event; NDJSON (one document a line, ``--data @events.ndjson``) is one
event a line, sent through the ingress's batch route ``--batch-size`` at a time. Through the
runtime's ingress (``--ingress``, default ``http://127.0.0.1:8083``, or the port in
``$ONEX_INGRESS__PORT``) or straight to
Kafka (``--kafka BOOTSTRAP``, with the config's TLS/SASL settings). Prints the envelope and
correlation ids of each event (``-o json``: one document). Exit 0 when accepted, 2 for a wrong
request (topic, shape, configuration), 1 when refused otherwise (auth, rate, size) or unreachable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from omnibase_infra.cli.bus_client_options import (
    IngressOption,
    KafkaConfigOption,
    KafkaOption,
    TokenOption,
    ingress_url,
    refusal,
)
from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

if TYPE_CHECKING:
    from omnibase_infra.cli.send import ModelSendRequest
    from omnibase_infra.ingress.errors import IngressRequestError
    from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
    from omnibase_infra.ingress.model_ingress_batch_accepted import ModelIngressBatchAccepted

__all__ = ["register"]

_errors = Console(stderr=True, soft_wrap=True)


def send(
    topic: Annotated[str, typer.Argument(help="onex.<cmd|evt>.<producer>.<event>.v<N>")],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            help="JSON: @file, - (stdin) or the text itself; NDJSON (a document a line): "
            "one event a line.",
        ),
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
    ingress: IngressOption = None,
    kafka: KafkaOption = None,
    token: TokenOption = None,
    config: KafkaConfigOption = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait.")] = 10.0,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="NDJSON data: events a request (at most the ingress's max_batch_events).",
        ),
    ] = 500,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """Send events to a topic through the ingress (or straight to Kafka)."""
    from omnibase_infra.cli.send import ModelSendRequest, read_data, split_events
    from omnibase_infra.errors import ProtocolConfigurationError, RuntimeHostError
    from omnibase_infra.ingress.errors import IngressRequestError

    accepted: ModelIngressAccepted | ModelIngressBatchAccepted
    ingress = ingress_url(ingress)
    try:
        request = ModelSendRequest(
            topic=topic,
            data=read_data(data),
            payload_type=payload_type,
            correlation_id=UUID(correlation_id) if correlation_id else None,
        )
        events = split_events(request.data)
        if len(events) > 1:
            accepted = asyncio.run(
                _send_many(request, events, ingress, kafka, token, config, timeout, batch_size)
            )
        elif kafka is not None:
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
        _refused(exc, payload_type)
    except ProtocolConfigurationError as exc:
        _errors.print(f"[red]configuration error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot send:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    _print(accepted, output)


async def _send_many(
    request: ModelSendRequest,
    events: list[bytes],
    ingress: str,
    kafka: str | None,
    token: str | None,
    config: Path | None,
    timeout_seconds: float,
    batch_size: int,
) -> ModelIngressBatchAccepted:
    """Every event of the data: through the ingress's batch route, or straight to Kafka."""
    from omnibase_infra.cli.send import send_batch_to_ingress, send_batch_to_kafka

    if kafka is not None:
        from omnibase_infra.runtime.config import load_runtime_config

        return await send_batch_to_kafka(request, events, load_runtime_config(config), kafka)
    return await send_batch_to_ingress(
        request,
        events,
        ingress,
        token=token,
        timeout_seconds=timeout_seconds,
        batch_size=batch_size,
    )


def _refused(exc: IngressRequestError, payload_type: str | None) -> NoReturn:
    _errors.print(refusal(exc))
    if exc.status == 422 and payload_type is None and exc.message.startswith("body"):
        # The commonest slip: a bare payload sent without its type is read as an envelope.
        _errors.print(
            "without --payload-type the data must be a whole event envelope "
            "(`onex-infra schema envelope`); for a bare payload give --payload-type MODEL"
        )
    raise typer.Exit(2 if exc.status == 422 else 1)


def _print(
    accepted: ModelIngressAccepted | ModelIngressBatchAccepted, output: EnumOutputFormat
) -> None:
    if output is EnumOutputFormat.JSON:
        print_json(accepted.model_dump(mode="json"))
        return
    from omnibase_infra.ingress.model_ingress_batch_accepted import ModelIngressBatchAccepted

    if isinstance(accepted, ModelIngressBatchAccepted):
        typer.echo(f"accepted {accepted.count} events on {accepted.topic}")
        typer.echo(f"{'envelope id':<36}  correlation id")
        for event in accepted.events:
            typer.echo(f"{event.envelope_id}  {event.correlation_id}")
        return
    typer.echo(f"accepted on {accepted.topic}")
    typer.echo(f"envelope id:    {accepted.envelope_id}")
    typer.echo(f"correlation id: {accepted.correlation_id}")


def register(app: typer.Typer) -> None:
    """Add the ``send`` command."""
    app.command("send")(send)
