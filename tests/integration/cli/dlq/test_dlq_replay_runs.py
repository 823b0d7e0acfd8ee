"""`onex-infra dlq` as an operator runs it: from the runtime's config, replaying idempotently,
failing fast with no broker. Real Tansu broker and real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from omnibase_infra.cli import cmd_dlq
from omnibase_infra.cli.dlq.model_kafka_dlq_filter import ModelKafkaDlqFilter
from omnibase_infra.cli.dlq.reader import read_dlq
from omnibase_infra.event_bus.dlq import build_dlq_message
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_OF,
)
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.testing import TopicFactory, eventually, free_port

pytestmark = pytest.mark.integration

DSN_VARIABLE = "ONEX_TEST_REPLAY_DSN"
CLI = str(Path(sys.executable).parent / "onex-infra")


def _cli() -> typer.Typer:
    app = typer.Typer()
    cmd_dlq.register(app)
    return app


async def _run(args: list[str], env: dict[str, str] | None = None) -> Result:
    # The command runs its own event loop: run it off this test's loop.
    return await asyncio.to_thread(
        CliRunner().invoke, _cli(), ["dlq", *args], env={"COLUMNS": "300", **(env or {})}
    )


def _config(tmp_path: Path, bootstrap: str) -> Path:
    """A runtime config naming the broker and PostgreSQL by reference, as `run` reads it."""
    path = tmp_path / "runtime.yaml"
    path.write_text(
        json.dumps(
            {
                "event_bus": {"kind": "kafka", "kafka": {"bootstrap_servers": bootstrap}},
                "postgres": {"mode": "external", "dsn": f"env://{DSN_VARIABLE}"},
            }
        ),
        encoding="utf-8",
    )
    return path


async def _dead_letter(bus: EventBusKafka, message: BusMessage) -> uuid.UUID:
    topic, record, headers = build_dlq_message(message, consumer_group="g", error=ValueError("x"))
    await bus.publish(topic, message.key, message.value, headers)
    return record.record_id


async def test_failing_replays_update_their_record_and_a_second_run_replays_nothing(
    kafka_bus: EventBusKafka,
    unique_topic: TopicFactory,
    postgres_migrated_handler: HandlerPostgres,
    postgres_dsn: str,
    tmp_path: Path,
) -> None:
    """Replayed dead letters that fail again stay one record each (replay count 1); a second
    run replays none and says why; --again replays each once more, with its lineage."""
    topic = unique_topic(event="replays")
    originals = [
        await _dead_letter(
            kafka_bus,
            BusMessage(topic, f"k{i}".encode(), f"v{i}".encode(), {HEADER_CORRELATION_ID: str(i)}),
        )
        for i in range(5)
    ]
    arrived: list[BusMessage] = []

    async def fail_again(message: BusMessage) -> None:
        # What a runtime does with a replay that fails again: it dead-letters it.
        arrived.append(message)
        await _dead_letter(kafka_bus, message)

    await kafka_bus.subscribe(
        topic, on_message=fail_again, group_id="fails", auto_offset_reset="earliest"
    )
    config = _config(tmp_path, kafka_bus.settings.bootstrap_servers)
    env = {DSN_VARIABLE: postgres_dsn}
    replay = ["replay", "--topic", topic, "--rate", "100", "--config", str(config)]

    first = await _run(replay, env)
    assert first.exit_code == 0, first.output
    assert "replayed 5 of 5 dead letter(s)" in first.output
    await eventually(lambda: len(arrived) == 5)

    async def replayed_once() -> bool:
        # read_dlq blocks: off the loop, which delivers the replays meanwhile.
        listed = await asyncio.to_thread(
            read_dlq, kafka_bus.settings, ModelKafkaDlqFilter(topic=topic)
        )
        return sorted(e.record.record_id for e in listed if e.record) == sorted(originals) and all(
            e.record is not None and e.record.replay_count == 1 for e in listed
        )

    await eventually(replayed_once)

    second = await _run(replay, env)
    assert second.exit_code == 0, second.output
    assert "replayed 0 of 5 dead letter(s): 5 already replayed (use --again)" in second.output

    third = await _run([*replay, "--again"], env)
    assert "replayed 5 of 5 dead letter(s)" in third.output
    await eventually(lambda: len(arrived) == 10)
    assert {m.headers[HEADER_REPLAY_OF] for m in arrived} == {str(r) for r in originals}
    assert sorted(m.headers[HEADER_REPLAY_COUNT] for m in arrived) == ["1"] * 5 + ["2"] * 5
    rows = await postgres_migrated_handler.fetch(
        "SELECT dlq_record_id, count(*) AS n FROM onex_dlq_replays GROUP BY dlq_record_id"
    )
    assert {row["dlq_record_id"]: row["n"] for row in rows} == dict.fromkeys(originals, 2)
    assert postgres_dsn not in first.output + second.output + third.output


async def test_dlq_commands_read_onex_config_like_run(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory, tmp_path: Path
) -> None:
    """With $ONEX_CONFIG set and no flags, `dlq list` reaches the config's broker."""
    topic = unique_topic(event="configured")
    record_id = await _dead_letter(kafka_bus, BusMessage(topic, b"k", b"v", {}))
    config = _config(tmp_path, kafka_bus.settings.bootstrap_servers)
    listed = await _run(["list", "--topic", topic], {"ONEX_CONFIG": str(config)})
    assert listed.exit_code == 0, listed.output
    assert str(record_id) in listed.output


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers (a hung broker)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("broker", ["refused", "silent"])
async def test_no_broker_fails_fast_with_one_line_naming_the_servers(
    broker: str, request: pytest.FixtureRequest
) -> None:
    """No reachable broker (nothing listening, or a listener that never answers): `dlq list`
    exits 1 with one line naming the bootstrap servers and none of the client's own lines."""
    port = free_port() if broker == "refused" else request.getfixturevalue("silent_listener")
    servers = f"127.0.0.1:{port}"
    # A real process: the client library writes to the terminal below Python when let.
    process = await asyncio.create_subprocess_exec(
        CLI,
        *("dlq", "list", "--bootstrap-servers", servers, "--timeout", "1"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80"},
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 1
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, err.decode()
    assert lines[0].startswith(f"cannot read the DLQ: no Kafka broker reachable at {servers}")
