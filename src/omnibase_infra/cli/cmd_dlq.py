"""``onex-infra dlq list | show | replay``: inspect dead letters on Kafka and replay them.

Every command reads the runtime's config like ``run`` does (``--config`` or ``$ONEX_CONFIG``,
``ONEX_*`` variables on top; ``cli/dlq/config.py``): Kafka from ``event_bus.kafka``, the
PostgreSQL that records replays from ``postgres``. With no broker reachable a command fails
within ``--timeout`` seconds with one line naming the bootstrap servers.

Filters: original topic, error type, last-failure time range, correlation id. ``replay``
re-publishes the newest version of each dead letter to its original topic (same bytes, same
correlation id, lineage headers ``onex-replay-of`` and ``onex-replay-count``), at most
``--rate`` messages per second, records every replay in PostgreSQL, skips records replayed
before unless ``--again`` and records whose replays failed ``--max-replays`` times always, and
says why it skipped them. ``--dry-run`` shows what would be replayed.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from omnibase_infra.cli.output import EnumOutputFormat, OutputOption, print_json

if TYPE_CHECKING:
    from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
    from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
    from omnibase_infra.cli.dlq.model_kafka_dlq_replay_run import ModelKafkaDlqReplayRun
    from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
    from omnibase_infra.runtime.config import ModelRuntimeConfig

__all__ = ["register"]

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        envvar="ONEX_KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka brokers, host:port[,host:port] (default: the config's event_bus.kafka).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Runtime config YAML, as for `onex-infra run` (default: $ONEX_CONFIG): "
        "event_bus.kafka (TLS, SASL by secret reference) and postgres are used.",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=0.5, help="Seconds to wait for a Kafka broker before giving up."),
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
_errors = Console(stderr=True, soft_wrap=True)  # one error, one line, whatever the width


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


def _config(config: Path | None) -> ModelRuntimeConfig:
    from omnibase_infra.cli.dlq.config import load_dlq_config
    from omnibase_infra.errors import RuntimeHostError

    try:
        return load_dlq_config(config)
    except RuntimeHostError as exc:
        _errors.print(f"[red]configuration error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None


def _settings(bootstrap: str | None, runtime: ModelRuntimeConfig) -> ModelKafkaSettings:
    from omnibase_infra.cli.dlq.config import dlq_kafka_settings
    from omnibase_infra.errors import RuntimeHostError

    try:
        return asyncio.run(dlq_kafka_settings(runtime, bootstrap))
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot use the Kafka settings:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None


def _selection(
    topic: str | None,
    error_type: str | None,
    since: datetime | None,
    until: datetime | None,
    correlation_id: str | None,
    record_ids: list[str] | None = None,
) -> ModelKafkaDlqFilter:
    from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter

    return ModelKafkaDlqFilter(
        topic=topic,
        error_type=error_type,
        since=_utc(since),
        until=_utc(until),
        correlation_id=_uuid(correlation_id, "correlation id") if correlation_id else None,
        record_ids=frozenset(_uuid(r, "record id") for r in record_ids or []),
    )


def _read(
    settings: ModelKafkaSettings,
    selection: ModelKafkaDlqFilter,
    limit: int | None,
    timeout: float,
) -> list[ModelKafkaDlqEntry]:
    from omnibase_infra.cli.dlq.reader import read_dlq
    from omnibase_infra.errors import RuntimeHostError

    try:
        return read_dlq(settings, selection, limit=limit, probe_seconds=timeout)
    except RuntimeHostError as exc:
        _errors.print(f"[red]cannot read the DLQ:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None


def _table(entries: list[ModelKafkaDlqEntry], title: str) -> Table:
    table = Table(title=title)
    columns = ("record id", "original topic", "error", "attempts", "replays", "last failure")
    for column in (*columns, "group"):
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
            str(record.replay_count),
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
    timeout: TimeoutOpt = 5.0,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """List dead letters matching the filters (oldest first per partition)."""
    selection = _selection(topic, error_type, since, until, correlation_id)
    settings = _settings(bootstrap_servers, _config(config))
    entries = _read(settings, selection, limit, timeout)
    if output is EnumOutputFormat.JSON:
        print_json([_entry_json(entry, with_value=False) for entry in entries])
        return
    _console.print(_table(entries, f"{len(entries)} dead letter(s)"))


def _entry_json(entry: ModelKafkaDlqEntry, *, with_value: bool) -> JsonValue:
    """A dead letter as JSON: its record, its DLQ position and (for show) headers and value."""
    from omnibase_infra.sanitize import sanitize_text

    shown: dict[str, JsonValue] = {
        "record": entry.record.model_dump(mode="json") if entry.record is not None else None,
        "dlq_topic": entry.dlq_topic,
        "partition": entry.partition,
        "offset": entry.offset,
    }
    if with_value:
        shown["headers"] = {
            name: sanitize_text(value)
            for name, value in sorted(entry.headers.items())
            if name != "onex-dlq-record"
        }
        shown["value_preview"] = sanitize_text(entry.value[:500].decode("utf-8", "replace"))
        shown["value_bytes"] = len(entry.value)
    return shown


def show(
    record_id: Annotated[str, typer.Argument(help="The DLQ record id (from `dlq list`).")],
    bootstrap_servers: Bootstrap = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 5.0,
    output: OutputOption = EnumOutputFormat.TABLE,
) -> None:
    """Show one dead letter: its record, headers and the start of its value."""
    from omnibase_infra.sanitize import sanitize_text

    entries = _read(
        _settings(bootstrap_servers, _config(config)),
        _selection(None, None, None, None, None, [record_id]),
        1,
        timeout,
    )
    if not entries or entries[0].record is None:
        _errors.print(f"[red]no dead letter with record id {record_id}[/red]")
        raise typer.Exit(1)
    entry = entries[0]
    if output is EnumOutputFormat.JSON:
        print_json(_entry_json(entry, with_value=True))
        return
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
        bool, typer.Option("--again", help="Also replay records replayed before (once each).")
    ] = False,
    max_replays: Annotated[
        int,
        typer.Option(
            "--max-replays", min=1, help="Never replay a record whose replays failed this often."
        ),
    ] = 3,
    postgres_dsn_env: Annotated[
        str | None,
        typer.Option(
            help="Record replays in the PostgreSQL whose DSN this environment variable holds "
            "(default: the config's postgres)."
        ),
    ] = None,
    timeout: TimeoutOpt = 5.0,
) -> None:
    """Re-publish dead letters to their original topics, recorded in PostgreSQL."""
    selection = _selection(topic, error_type, since, until, correlation_id, record_ids)
    if selection == _selection(None, None, None, None, None) and not all_records:
        _errors.print("[red]give record ids or a filter, or --all to replay everything[/red]")
        raise typer.Exit(2)
    runtime = _config(config)
    settings = _settings(bootstrap_servers, runtime)
    entries = _read(settings, selection, None, timeout)
    if dry_run:
        _console.print(_table(entries, f"dry run: {len(entries)} dead letter(s) would be replayed"))
        return
    from omnibase_infra.errors import RuntimeHostError

    try:
        run = asyncio.run(
            _replay(
                settings,
                entries,
                runtime,
                postgres_dsn_env,
                rate=rate,
                again=again,
                max_replays=max_replays,
            )
        )
    except RuntimeHostError as exc:
        _errors.print(f"[red]replay stopped:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    _console.print(_table(list(run.replayed), escape(run.summary())))


async def _replay(
    settings: ModelKafkaSettings,
    entries: list[ModelKafkaDlqEntry],
    runtime: ModelRuntimeConfig,
    dsn_variable: str | None,
    *,
    rate: float,
    again: bool,
    max_replays: int,
) -> ModelKafkaDlqReplayRun:
    from omnibase_infra.cli.dlq.config import dlq_postgres_settings
    from omnibase_infra.cli.dlq.replay import replay_dlq
    from omnibase_infra.cli.dlq.store import DlqReplayStore
    from omnibase_infra.event_bus.kafka.producer import KafkaProducer
    from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
    from omnibase_infra.migrations.runner import apply_migrations

    handler = HandlerPostgres(await dlq_postgres_settings(runtime, dsn_variable))
    producer = KafkaProducer(settings, name="dlq_replay")
    await handler.start()
    try:
        await apply_migrations(handler)
        await producer.start()
        store = DlqReplayStore(handler, replayed_by=getpass.getuser())
        return await replay_dlq(
            producer, entries, recorder=store, rate=rate, again=again, max_replays=max_replays
        )
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
