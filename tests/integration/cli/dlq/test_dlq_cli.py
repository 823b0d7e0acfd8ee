"""`onex-infra dlq list | show | replay` against a real Tansu broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import typer
from typer.testing import CliRunner, Result

from omnibase_infra.cli import cmd_dlq
from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import read_dlq
from omnibase_infra.event_bus.dlq import build_dlq_message
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_REPLAY_OF,
)
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.testing import TopicFactory, eventually

pytestmark = pytest.mark.integration


@dataclass
class _Dead:
    topic: str
    correlation_id: uuid.UUID
    record_id: uuid.UUID
    value: bytes


@dataclass
class _Setup:
    settings: ModelKafkaSettings
    bus: EventBusKafka
    timeouts: list[_Dead]
    invalid: list[_Dead]


@pytest_asyncio.fixture
async def dead_letters(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> AsyncIterator[_Setup]:
    """Two timed-out messages on one topic and one invalid message on another, dead-lettered."""
    timeouts_topic = unique_topic(event="orders")
    invalid_topic = unique_topic(event="payments")
    made: dict[str, list[_Dead]] = {"timeout": [], "invalid": []}
    for kind, topic, error in (
        ("timeout", timeouts_topic, TimeoutError("upstream took too long")),
        ("timeout", timeouts_topic, TimeoutError("upstream took too long")),
        ("invalid", invalid_topic, ValueError("bad payload")),
    ):
        correlation_id = uuid.uuid4()
        value = f'{{"n": "{uuid.uuid4()}"}}'.encode()
        message = BusMessage(topic, b"k", value, {HEADER_CORRELATION_ID: str(correlation_id)})
        dlq_topic, record, headers = build_dlq_message(message, consumer_group="g", error=error)
        await kafka_bus.publish(dlq_topic, b"k", value, headers)
        made[kind].append(_Dead(topic, correlation_id, record.record_id, value))
    yield _Setup(kafka_bus.settings, kafka_bus, made["timeout"], made["invalid"])


def _cli() -> typer.Typer:
    app = typer.Typer()
    cmd_dlq.register(app)
    return app


async def _run(args: list[str], env: dict[str, str] | None = None) -> Result:
    # The command runs its own event loop: run it off this test's loop.
    return await asyncio.to_thread(
        CliRunner().invoke, _cli(), ["dlq", *args], env={"COLUMNS": "300", **(env or {})}
    )


async def test_read_filters_by_topic_error_type_and_correlation(dead_letters: _Setup) -> None:
    """Each filter selects exactly the dead letters it names, and a time range bounds them."""
    settings = dead_letters.settings
    by_topic = read_dlq(settings, ModelKafkaDlqFilter(topic=dead_letters.timeouts[0].topic))
    assert {e.record.record_id for e in by_topic if e.record} == {
        d.record_id for d in dead_letters.timeouts
    }
    by_error = read_dlq(settings, ModelKafkaDlqFilter(error_type="ValueError"))
    assert dead_letters.invalid[0].record_id in {e.record.record_id for e in by_error if e.record}
    assert all(e.record and e.record.error_type == "ValueError" for e in by_error)
    wanted = dead_letters.timeouts[1]
    by_correlation = read_dlq(settings, ModelKafkaDlqFilter(correlation_id=wanted.correlation_id))
    assert [e.record.record_id for e in by_correlation if e.record] == [wanted.record_id]
    assert by_correlation[0].value == wanted.value
    first = by_topic[0].record
    assert first is not None
    before = read_dlq(
        settings,
        ModelKafkaDlqFilter(topic=wanted.topic, until=first.last_failure_at.replace(year=2000)),
    )
    assert before == []


async def test_list_and_show_print_the_records(dead_letters: _Setup) -> None:
    """`dlq list` tables the matching records and `dlq show` prints one record with headers."""
    dead = dead_letters.timeouts[0]
    bootstrap = ["--bootstrap-servers", dead_letters.settings.bootstrap_servers]
    listed = await _run(["list", *bootstrap, "--topic", dead.topic])
    assert listed.exit_code == 0, listed.output
    assert str(dead.record_id) in listed.output
    assert str(dead_letters.invalid[0].record_id) not in listed.output
    shown = await _run(["show", str(dead.record_id), *bootstrap])
    assert shown.exit_code == 0, shown.output
    assert "upstream took too long" in shown.output
    assert str(dead.correlation_id) in shown.output


async def test_list_and_show_print_json_with_dash_o_json(dead_letters: _Setup) -> None:
    """`-o json` makes `dlq list` and `dlq show` print one JSON document of the same records."""
    dead = dead_letters.timeouts[0]
    bootstrap = ["--bootstrap-servers", dead_letters.settings.bootstrap_servers]
    listed = await _run(["list", *bootstrap, "--topic", dead.topic, "-o", "json"])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert {r["record"]["record_id"] for r in records} == {
        str(d.record_id) for d in dead_letters.timeouts
    }
    shown = await _run(["show", str(dead.record_id), *bootstrap, "-o", "json"])
    assert shown.exit_code == 0, shown.output
    one = json.loads(shown.stdout)
    assert one["record"]["correlation_id"] == str(dead.correlation_id)
    assert one["value_bytes"] == len(dead.value)


async def test_replay_keeps_correlation_marks_replay_and_records_it(
    dead_letters: _Setup, postgres_migrated_handler: HandlerPostgres, postgres_dsn: str
) -> None:
    """A replay re-publishes the original bytes with their correlation id, once, recorded."""
    dead = dead_letters.timeouts[0]
    arrived: list[BusMessage] = []

    async def on_message(message: BusMessage) -> None:
        arrived.append(message)

    await dead_letters.bus.subscribe(
        dead.topic, on_message=on_message, group_id="replayed", auto_offset_reset="earliest"
    )
    bootstrap = ["--bootstrap-servers", dead_letters.settings.bootstrap_servers]
    env = {"ONEX_TEST_DSN": postgres_dsn}
    args = ["replay", str(dead.record_id), *bootstrap, "--postgres-dsn-env", "ONEX_TEST_DSN"]
    dry = await _run([*args, "--dry-run"], env)
    assert dry.exit_code == 0, dry.output
    assert "dry run: 1" in dry.output
    first = await _run([*args, "--rate", "50"], env)
    assert first.exit_code == 0, first.output
    second = await _run(args, env)
    assert "replayed 0 of 1" in second.output
    await eventually(lambda: arrived)
    await asyncio.sleep(0.5)  # a second (duplicate) replay would have arrived by now
    assert len(arrived) == 1
    replayed = arrived[0]
    assert replayed.value == dead.value
    assert replayed.headers[HEADER_CORRELATION_ID] == str(dead.correlation_id)
    assert replayed.headers[HEADER_REPLAY_OF] == str(dead.record_id)
    assert HEADER_DLQ_RECORD not in replayed.headers
    rows = await postgres_migrated_handler.fetch(
        "SELECT dlq_record_id, correlation_id, original_topic FROM onex_dlq_replays"
    )
    assert [(r["dlq_record_id"], r["correlation_id"], r["original_topic"]) for r in rows] == [
        (dead.record_id, dead.correlation_id, dead.topic)
    ]
    assert postgres_dsn not in first.output + second.output + dry.output


async def test_replay_without_a_selection_refuses(dead_letters: _Setup) -> None:
    """`dlq replay` with neither ids nor filters nor --all exits with a usage error."""
    result = await _run(["replay", "--bootstrap-servers", dead_letters.settings.bootstrap_servers])
    assert result.exit_code == 2
    assert "--all" in result.output


async def test_list_reads_the_kafka_settings_of_a_runtime_config(
    dead_letters: _Setup, tmp_path: Path
) -> None:
    """With --config, `dlq list` reaches the cluster named by the config's event_bus.kafka."""
    config = tmp_path / "runtime.yaml"
    config.write_text(
        json.dumps(
            {
                "event_bus": {
                    "kind": "kafka",
                    "kafka": {"bootstrap_servers": dead_letters.settings.bootstrap_servers},
                }
            }
        ),
        encoding="utf-8",
    )
    dead = dead_letters.invalid[0]
    listed = await _run(["list", "--config", str(config), "--error-type", "ValueError"])
    assert listed.exit_code == 0, listed.output
    assert str(dead.record_id) in listed.output
