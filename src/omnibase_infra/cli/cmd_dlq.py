"""``onex-infra dlq list | show | replay``: inspect dead letters on Kafka and replay them.

Filters: original topic, error type, last-failure time range, correlation id. ``replay``
re-publishes to the original topic (same bytes, same correlation id, ``onex-replay-of`` header),
at most ``--rate`` messages per second, skips records already replayed unless ``--again``, and
records every replay in PostgreSQL (DSN read from the environment variable named by
``--postgres-dsn-env``, never from the command line). ``--dry-run`` shows what would be replayed.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from omnibase_infra.event_bus.model_kafka_dlq_entry import ModelKafkaDlqEntry
    from omnibase_infra.event_bus.model_kafka_dlq_filter import ModelKafkaDlqFilter
    from omnibase_infra.event_bus.model_kafka_settings import ModelKafkaSettings

__all__ = ["register"]

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        envvar="ONEX_KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka brokers, host:port[,host:port] (default: the config's, else 127.0.0.1:9092).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ONEX_CONFIG",
        help="Runtime config YAML: its event_bus.kafka settings (TLS, SASL by env:// or "
        "file:// reference) are used.",
    ),
]
TopicOpt = Annotated[str | None, typer.Option("--topic", help="Original topic of the messages.")]
ErrorOpt = Annotated[str | None, typer.Option("--error-type", help="Error type, e.g. Timeout.")]
SinceOpt = Annotated[
    datetime | None,
    typer.Option("--since", formats=_DATE_FORMATS, help="Last failure at or after (UTC)."),
]
UntilOpt = Annotated[
    datetime | None,
    typer.Option("--until", formats=_DATE_FORMATS, help="Last failure at or before (UTC)."),
]
CorrelationOpt = Annotated[
    str | None, typer.Option("--correlation-id", help="Correlation id of the messages.")
]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]

_console = Console()
_errors = Console(stderr=True)


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _uuid(text: str, what: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        _errors.print(f"[red]{what} {text!r} is not a UUID[/red]")
        raise typer.Exit(2) from None


def _settings(bootstrap: str | None, config: Path | None) -> ModelKafkaSettings:
    from omnibase_infra.errors import RuntimeHostError
    from omnibase_infra.event_bus.model_kafka_settings import ModelKafkaSettings

    if config is None:
        return ModelKafkaSettings(
            bootstrap_servers=bootstrap or "127.0.0.1:9092", client_id="onex-infra-dlq"
        )
    from omnibase_infra.runtime.config import load_runtime_config
    from omnibase_infra.runtime.secrets import resolve_secret_fields

    try:
        kafka = asyncio.run(resolve_secret_fields(load_runtime_config(config).event_bus.kafka))
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot use {config}:[/red] {exc.message}")
        raise typer.Exit(2) from None
    update: dict[str, object] = {"client_id": "onex-infra-dlq"}
    if bootstrap:
        update["bootstrap_servers"] = bootstrap
    return kafka.model_copy(update=update)


def _selection(
    topic: str | None,
    error_type: str | None,
    since: datetime | None,
    until: datetime | None,
    correlation_id: str | None,
    record_ids: list[str] | None = None,
) -> ModelKafkaDlqFilter:
    from omnibase_infra.event_bus.model_kafka_dlq_filter import ModelKafkaDlqFilter

    return ModelKafkaDlqFilter(
        topic=topic,
        error_type=error_type,
        since=_utc(since),
        until=_utc(until),
        correlation_id=_uuid(correlation_id, "correlation id") if correlation_id else None,
        record_ids=frozenset(_uuid(r, "record id") for r in record_ids or []),
    )


def _read(
    settings: ModelKafkaSettings, selection: ModelKafkaDlqFilter, limit: int | None
) -> list[ModelKafkaDlqEntry]:
    from omnibase_infra.errors import RuntimeHostError
    from omnibase_infra.event_bus.kafka_dlq import read_dlq

    try:
        return read_dlq(settings, selection, limit=limit)
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot read the DLQ:[/red] {exc.message}")
        raise typer.Exit(1) from None


def _table(entries: list[ModelKafkaDlqEntry], title: str) -> Table:
    table = Table(title=title)
    for column in ("record id", "original topic", "error", "attempts", "last failure", "group"):
        table.add_column(column, overflow="fold")
    table.add_column("correlation id", overflow="fold")
    for entry in entries:
        record = entry.record
        if record is None:
            continue
        table.add_row(
            str(record.record_id),
            record.original_topic,
            record.error_type,
            str(record.attempts),
            record.last_failure_at.isoformat(timespec="seconds"),
            record.consumer_group,
            str(record.correlation_id or ""),
        )
    return table


def list_dead_letters(
    bootstrap_servers: Bootstrap = None,
    config: ConfigOpt = None,
    topic: TopicOpt = None,
    error_type: ErrorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    correlation_id: CorrelationOpt = None,
    limit: LimitOpt = 100,
) -> None:
    """List dead letters matching the filters (oldest first per partition)."""
    selection = _selection(topic, error_type, since, until, correlation_id)
    entries = _read(_settings(bootstrap_servers, config), selection, limit)
    _console.print(_table(entries, f"{len(entries)} dead letter(s)"))


def show(
    record_id: Annotated[str, typer.Argument(help="The DLQ record id (from `dlq list`).")],
    bootstrap_servers: Bootstrap = None,
    config: ConfigOpt = None,
) -> None:
    """Show one dead letter: its record, headers and the start of its value."""
    from omnibase_infra.sanitize import sanitize_text

    entries = _read(
        _settings(bootstrap_servers, config),
        _selection(None, None, None, None, None, [record_id]),
        1,
    )
    if not entries or entries[0].record is None:
        _errors.print(f"[red]no dead letter with record id {record_id}[/red]")
        raise typer.Exit(1)
    entry = entries[0]
    table = Table(title=f"dead letter {record_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    assert entry.record is not None
    for name, value in entry.record.model_dump(mode="json").items():
        table.add_row(name, str(value))
    table.add_row("dlq position", f"{entry.dlq_topic}[{entry.partition}]@{entry.offset}")
    for name, value in sorted(entry.headers.items()):
        if name != "onex-dlq-record":
            table.add_row(f"header {name}", sanitize_text(value))
    preview = entry.value[:500].decode("utf-8", "replace")
    table.add_row("value", sanitize_text(preview) + (" ..." if len(entry.value) > 500 else ""))
    _console.print(table)


def replay(
    record_ids: Annotated[
        list[str] | None, typer.Argument(help="Record ids to replay (else: the filters).")
    ] = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigOpt = None,
    topic: TopicOpt = None,
    error_type: ErrorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    correlation_id: CorrelationOpt = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter (no filter given).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would go.")] = False,
    rate: Annotated[
        float, typer.Option("--rate", min=0.1, help="At most this many messages per second.")
    ] = 10.0,
    again: Annotated[
        bool, typer.Option("--again", help="Also replay records replayed before.")
    ] = False,
    postgres_dsn_env: Annotated[
        str,
        typer.Option(help="Environment variable holding the PostgreSQL DSN for the record."),
    ] = "ONEX_POSTGRES_DSN",
) -> None:
    """Re-publish dead letters to their original topics, recorded in PostgreSQL."""
    selection = _selection(topic, error_type, since, until, correlation_id, record_ids)
    if selection == _selection(None, None, None, None, None) and not all_records:
        _errors.print("[red]give record ids or a filter, or --all to replay everything[/red]")
        raise typer.Exit(2)
    settings = _settings(bootstrap_servers, config)
    entries = _read(settings, selection, None)
    if dry_run:
        _console.print(_table(entries, f"dry run: {len(entries)} dead letter(s) would be replayed"))
        return
    dsn = os.environ.get(postgres_dsn_env)
    if not dsn:
        _errors.print(f"[red]set {postgres_dsn_env} so replays can be recorded[/red]")
        raise typer.Exit(2)
    from omnibase_infra.errors import RuntimeHostError

    try:
        replayed = asyncio.run(_replay(settings, entries, dsn, rate=rate, again=again))
    except RuntimeHostError as exc:
        _errors.print(f"[red]replay stopped:[/red] {exc.message}")
        raise typer.Exit(1) from None
    _console.print(_table(replayed, f"replayed {len(replayed)} of {len(entries)} dead letter(s)"))


async def _replay(
    settings: ModelKafkaSettings,
    entries: list[ModelKafkaDlqEntry],
    dsn: str,
    *,
    rate: float,
    again: bool,
) -> list[ModelKafkaDlqEntry]:
    from omnibase_infra.event_bus.kafka_dlq import replay_dlq
    from omnibase_infra.event_bus.kafka_dlq_store import DlqReplayStore
    from omnibase_infra.event_bus.kafka_producer import KafkaProducer
    from omnibase_infra.handlers.handler_postgres import HandlerPostgres
    from omnibase_infra.handlers.model_postgres_settings import ModelPostgresSettings
    from omnibase_infra.migrations.runner import apply_migrations
    from omnibase_infra.sanitize import register_secret

    register_secret(dsn)
    handler = HandlerPostgres(ModelPostgresSettings.from_dsn(dsn))
    producer = KafkaProducer(settings, name="dlq_replay")
    await handler.start()
    try:
        await apply_migrations(handler)
        await producer.start()
        store = DlqReplayStore(handler, replayed_by=getpass.getuser())
        return await replay_dlq(producer, entries, recorder=store, rate=rate, again=again)
    finally:
        await producer.close()
        await handler.close()


def register(app: typer.Typer) -> None:
    """Add the ``dlq`` command group."""
    group = typer.Typer(help="Inspect and replay dead letters (Kafka DLQ topics).")
    group.command("list")(list_dead_letters)
    group.command("show")(show)
    group.command("replay")(replay)
    app.add_typer(group, name="dlq")
