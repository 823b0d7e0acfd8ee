"""``onex-infra tail`` as a real process: an event sent with ``onex-infra send`` shows up in a
tail of its topic, through the ingress of a running ``onex-infra run`` (in-memory bus) and on
Kafka (straight from the broker, and through an ingress whose bus is that broker)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from confluent_kafka.admin import AdminClient
from ingress_support import ingress_host
from runtime_support import RecordingSink
from test_runtime_process import _drain_config, running_runtime

from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.testing.fixtures.kafka import make_kafka_settings
from omnibase_infra.testing.servers.tansu import TansuServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "onex-infra")
_ENV = {"COLUMNS": "400", "ONEX_CONFIG": ""}


async def _cli(*args: str, home: Path) -> tuple[int, str, str]:
    """One ``onex-infra`` command to its end: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **_ENV, "HOME": str(home)},
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class _Tail:
    """A running ``onex-infra tail``: its stderr read as it comes, its stdout at the end."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.notes: list[str] = []

    async def until_tailing(self) -> None:
        """Wait for the note saying the tail consumes, or waits for its topic to exist (so what
        is sent now is seen)."""
        stream = self.process.stderr
        assert stream is not None
        async with asyncio.timeout(120):
            while line := (await stream.readline()).decode():
                self.notes.append(line)
                if line.startswith(("tailing ", "waiting for ")):
                    return
        raise AssertionError(f"tail exited before tailing: {self.notes}")

    async def result(self) -> tuple[int, str, str]:
        """Its exit code, stdout and the rest of its stderr (bounded wait)."""
        async with asyncio.timeout(120):
            out, err = await self.process.communicate()
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(), "".join(self.notes) + err.decode()


@asynccontextmanager
async def _tail(*args: str, home: Path) -> AsyncIterator[_Tail]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        "tail",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **_ENV, "HOME": str(home)},
    )
    try:
        yield _Tail(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _send_args(topic: str, name: str) -> list[str]:
    return ["send", topic, "--payload-type", "ModelHello", "--data", json.dumps({"hello": name})]


async def test_tail_through_a_running_runtime_shows_the_event_sent_to_it(tmp_path: Path) -> None:
    """Through a running ``onex-infra run`` (in-memory bus): ``tail -n 1 -o json`` prints the
    event ``send`` posted (same envelope id, the payload) and exits 0; ``--from-beginning`` shows
    it again as a table line; a tail open when the runtime stops ends with exit 1 saying so,
    and the runtime still stops with 0."""
    topic = "onex.evt.outside.hello.v1"
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config) as runtime:
        (warning,) = runtime.events("ingress without authentication: bound to loopback only")
        url = str(warning["url"])
        async with _tail(topic, "-n", "1", "-o", "json", "--ingress", url, home=tmp_path) as tail:
            await tail.until_tailing()
            sent = await _cli(
                *_send_args(topic, "Ada"), "--ingress", url, "-o", "json", home=tmp_path
            )
            assert sent[0] == 0, sent[2]
            code, out, err = await tail.result()
        assert code == 0, err
        (line,) = out.splitlines()
        event = json.loads(line)
        assert event["topic"] == topic
        assert event["value"]["payload"] == {"hello": "Ada"}
        assert event["value"]["envelope_id"] == json.loads(sent[1])["envelope_id"]

        again = await _cli(
            "tail", topic, "--from-beginning", "-n", "1", "--ingress", url, home=tmp_path
        )
        assert again[0] == 0, again[2]
        assert "ModelHello" in again[1]
        assert '{"hello":"Ada"}' in again[1]

        async with _tail(topic, "--ingress", url, home=tmp_path) as open_tail:
            await open_tail.until_tailing()
            runtime.signal()
            assert await runtime.exit_code() == 0
            code, _, err = await open_tail.result()
    assert code == 1
    assert "stream ended: the runtime is stopping" in err


UNKNOWN_NOTE = "no node of this runtime subscribes or publishes to"


async def test_tail_of_a_topic_unknown_to_the_runtime_says_so_and_still_waits(
    tmp_path: Path,
) -> None:
    """A tail of a topic no node of the runtime uses and that holds nothing notes that on
    stderr and still prints the event that comes; a topic that holds events, or that a node
    subscribes to, gets no such note."""
    unknown = "onex.evt.outside.nobody-listens.v1"
    config = _drain_config(tmp_path)
    async with running_runtime(tmp_path, config) as runtime:
        (warning,) = runtime.events("ingress without authentication: bound to loopback only")
        url = str(warning["url"])
        async with _tail(unknown, "-n", "1", "--ingress", url, home=tmp_path) as tail:
            await tail.until_tailing()
            sent = await _cli(*_send_args(unknown, "Ada"), "--ingress", url, home=tmp_path)
            assert sent[0] == 0, sent[2]
            code, out, err = await tail.result()
        assert code == 0, err
        assert f"{UNKNOWN_NOTE} {unknown}" in err
        assert '{"hello":"Ada"}' in out

        held = await _cli(
            "tail", unknown, "--from-beginning", "-n", "1", "--ingress", url, home=tmp_path
        )
        assert held[0] == 0, held[2]
        assert UNKNOWN_NOTE not in held[2]

        known = "onex.cmd.rtest.slow-work.v1"  # node_rt_slow_effect subscribes to it
        async with _tail(known, "-n", "1", "--ingress", url, home=tmp_path) as tail:
            await tail.until_tailing()
            work = json.dumps({"work_id": 1, "key": "k"})
            command = ["send", known, "--payload-type", "ModelRtSlowWork", "--data", work]
            sent = await _cli(*command, "--ingress", url, home=tmp_path)
            assert sent[0] == 0, sent[2]
            code, _, err = await tail.result()
        assert code == 0, err
        assert UNKNOWN_NOTE not in err


async def test_tail_of_a_topic_a_package_node_only_publishes_to_gets_no_note(
    tmp_path: Path,
) -> None:
    """The topic of a node that publishes without subscribing (the package's health monitor,
    ticking on its own clock) is known to the runtime: its tail gets no unknown-topic note."""
    published = "onex.evt.platform.dependency-health-changed.v1"
    config = _drain_config(tmp_path, use_entry_points=True)
    async with running_runtime(tmp_path, config) as runtime:
        (warning,) = runtime.events("ingress without authentication: bound to loopback only")
        url = str(warning["url"])
        async with _tail(published, "-n", "1", "--ingress", url, home=tmp_path) as tail:
            await tail.until_tailing()
            sent = await _cli(*_send_args(published, "Ada"), "--ingress", url, home=tmp_path)
            assert sent[0] == 0, sent[2]
            code, _, err = await tail.result()
        assert code == 0, err
        assert "tailing " in err
        assert UNKNOWN_NOTE not in err


async def test_tail_on_kafka_shows_the_event_sent_there(
    tansu_server: TansuServer, tmp_path: Path
) -> None:
    """On Kafka: ``send --kafka`` publishes an event; ``tail --kafka`` (straight from the broker,
    started before) and ``tail --from-beginning`` through the ingress of a host whose bus is
    that broker both print it."""
    environment = f"tail-{uuid4().hex[:8]}"
    topic = f"onex.evt.{environment}.hello.v1"
    brokers = tansu_server.bootstrap_servers
    bus = EventBusKafka(make_kafka_settings(brokers), environment=environment)
    async with (
        ingress_host(
            RecordingSink(),
            bus=bus,
            environment=environment,
            event_bus={"kind": "kafka", "retry": None},
        ) as (_, client),
        _tail(topic, "--kafka", brokers, "-n", "1", "-o", "json", home=tmp_path) as direct,
    ):
        await direct.until_tailing()
        sent = await _cli(
            *_send_args(topic, "Grace"), "--kafka", brokers, "-o", "json", home=tmp_path
        )
        assert sent[0] == 0, sent[2]
        envelope_id = json.loads(sent[1])["envelope_id"]
        code, out, err = await direct.result()
        assert code == 0, err
        through_ingress = await _cli(
            "tail",
            topic,
            "--from-beginning",
            "-n",
            "1",
            "-o",
            "json",
            "--ingress",
            str(client.base_url),
            home=tmp_path,
        )
    assert through_ingress[0] == 0, through_ingress[2]
    for printed in (out, through_ingress[1]):
        (line,) = printed.splitlines()
        event = json.loads(line)
        assert event["value"]["envelope_id"] == envelope_id
        assert event["value"]["payload"] == {"hello": "Grace"}


def _tail_groups(brokers: str) -> set[str]:
    """The consumer groups on the broker that a tail would have made (``onex-tail-*``)."""
    admin = AdminClient({"bootstrap.servers": brokers})
    listed = admin.list_consumer_groups(request_timeout=10).result()
    return {group.group_id for group in listed.valid if group.group_id.startswith("onex-tail-")}


async def test_tail_through_the_ingress_on_kafka_leaves_no_consumer_group(
    tansu_server: TansuServer, tmp_path: Path
) -> None:
    """On Kafka, a tail through the ingress reads by assignment: of a topic that does not exist
    yet it notes the topic unknown, waits, prints the event sent once it exists, and leaves no
    consumer group on the broker, as a later tail from the beginning does not either."""
    environment = f"tail-{uuid4().hex[:8]}"
    topic = f"onex.evt.{environment}.hello.v1"
    brokers = tansu_server.bootstrap_servers
    before = await asyncio.to_thread(_tail_groups, brokers)
    bus = EventBusKafka(make_kafka_settings(brokers), environment=environment)
    kafka_bus = {"kind": "kafka", "retry": None}
    async with ingress_host(
        RecordingSink(), bus=bus, environment=environment, event_bus=kafka_bus
    ) as (_, client):
        url = str(client.base_url)
        async with _tail(topic, "-n", "1", "-o", "json", "--ingress", url, home=tmp_path) as tail:
            await tail.until_tailing()
            sent = await _cli(*_send_args(topic, "Ada"), "--kafka", brokers, home=tmp_path)
            assert sent[0] == 0, sent[2]
            code, out, err = await tail.result()
        assert code == 0, err
        assert f"no node of this runtime subscribes or publishes to {topic}" in err
        assert json.loads(out)["value"]["payload"] == {"hello": "Ada"}
        again = await _cli(
            "tail", topic, "--from-beginning", "-n", "1", "--ingress", url, home=tmp_path
        )
        assert again[0] == 0, again[2]
        assert "no node of this runtime" not in again[2]  # the topic holds an event now
    assert await asyncio.to_thread(_tail_groups, brokers) == before
