"""``onex-infra tail TOPIC [--from-beginning] [-n N] [-o json]``: a topic's events as they
arrive.

Through the runtime's ingress (``--ingress``, default ``http://127.0.0.1:8083`` or the port in
``$ONEX_INGRESS__PORT``: the running runtime's bus, in-memory included) or straight from Kafka
(``--kafka BOOTSTRAP``, with the config's TLS/SASL settings; nothing committed). One line an
event on stdout (``-o json``: one JSON object a line); notes (what is tailed, why it ended) on
stderr. Stops after ``-n N`` events, or on Ctrl-C. Exit 0 then; 2 for a wrong request (topic,
configuration), 1 when refused otherwise, unreachable, or when the stream ends first (the
runtime stopping, or this client dropped for falling behind).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from omnibase_infra.cli.output import EnumOutputFormat

if TYPE_CHECKING:
    from omnibase_infra.cli.tail import OnEvent, OnNote
    from omnibase_infra.ingress.model_stream_event import ModelStreamEvent

__all__ = ["register"]

_errors = Console(stderr=True, soft_wrap=True)


def tail(
    topic: Annotated[str, typer.Argument(help="onex.<evt|cmd|intent|dlq>.<producer>.<event>.v<N>")],
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning", help="Start at the earliest event the bus still holds (not now)."
        ),
    ] = False,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", min=1, help="Stop after this many events (absent: Ctrl-C)."),
    ] = None,
    ingress: IngressOption = None,
    kafka: KafkaOption = None,
    token: TokenOption = None,
    config: KafkaConfigOption = None,
    output: Annotated[
        EnumOutputFormat,
        typer.Option("--output", "-o", help="table (a line an event) or json (an object a line)."),
    ] = EnumOutputFormat.TABLE,
) -> None:
    """Print a topic's events as they arrive, through the ingress (or straight from Kafka)."""
    from omnibase_infra.errors import ProtocolConfigurationError, RuntimeHostError
    from omnibase_infra.ingress.errors import IngressRequestError

    def on_event(event: ModelStreamEvent) -> None:
        typer.echo(event.model_dump_json() if output is EnumOutputFormat.JSON else _line(event))

    def on_note(note: str) -> None:
        _errors.print(escape(note))

    ended: str | None = None
    try:
        if kafka is not None:
            _tail_kafka(topic, kafka, config, from_beginning, count, on_note, on_event)
        else:
            from omnibase_infra.cli.tail import tail_ingress

            ended = asyncio.run(
                tail_ingress(
                    topic,
                    ingress_url(ingress),
                    token=token,
                    from_beginning=from_beginning,
                    limit=count,
                    on_note=on_note,
                    on_event=on_event,
                )
            )
    except KeyboardInterrupt:
        return  # Ctrl-C: what the user asked for
    except IngressRequestError as exc:
        _errors.print(refusal(exc))
        raise typer.Exit(2 if exc.status == 422 else 1) from None
    except ProtocolConfigurationError as exc:
        _errors.print(f"[red]cannot tail:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot tail:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    if ended is not None:
        _errors.print(f"[red]stream ended:[/red] {escape(ended)}")
        raise typer.Exit(1)


def _tail_kafka(
    topic: str,
    kafka: str,
    config: Path | None,
    from_beginning: bool,
    count: int | None,
    on_note: OnNote,
    on_event: OnEvent,
) -> None:
    """Straight from the brokers, with the config's Kafka settings (secrets resolved)."""
    from omnibase_infra.cli.dlq.config import dlq_kafka_settings
    from omnibase_infra.cli.tail import tail_kafka
    from omnibase_infra.runtime.config import load_runtime_config

    settings = asyncio.run(dlq_kafka_settings(load_runtime_config(config), kafka))
    tail_kafka(
        topic,
        settings.model_copy(update={"client_id": "onex-infra-tail"}),
        from_beginning=from_beginning,
        limit=count,
        on_note=on_note,
        on_event=on_event,
    )


def _line(event: ModelStreamEvent) -> str:
    """One event on one line: time, partition@offset, payload type, correlation id, payload;
    a dead letter's reason after it."""
    from omnibase_infra.event_bus.headers import (
        HEADER_CORRELATION_ID,
        HEADER_DLQ_RECORD,
        HEADER_PAYLOAD_TYPE,
    )

    value = event.value
    payload = value.get("payload", value) if isinstance(value, dict) else value
    stamp = event.timestamp.strftime("%H:%M:%S.%f")[:-3] if event.timestamp else "-"
    payload_type = event.headers.get(HEADER_PAYLOAD_TYPE, "-")
    correlation = event.headers.get(HEADER_CORRELATION_ID, "-")
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    line = f"{stamp}  {event.partition}@{event.offset}  {payload_type}  {correlation}  {text}"
    record = event.headers.get(HEADER_DLQ_RECORD)
    return line if record is None else f"{line}  {_dead_letter_reason(record)}"


def _dead_letter_reason(record: str) -> str:
    """``dead-lettered: <error type>: <reason>`` from a DLQ record header (already sanitized
    when it was written)."""
    from pydantic import ValidationError

    from omnibase_infra.event_bus.dlq import ModelDlqRecord

    try:
        parsed = ModelDlqRecord.model_validate_json(record)
    except ValidationError:
        return "dead-lettered (record unreadable)"
    return f"dead-lettered: {parsed.error_type}: {parsed.error_message}"


def register(app: typer.Typer) -> None:
    """Add the ``tail`` command."""
    app.command("tail")(tail)
