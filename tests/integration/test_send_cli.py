"""``onex-infra send`` as a real process against a running host's ingress (and once straight to
Kafka): accepted events are handled and their ids printed; refusals exit non-zero with the
ingress's reason; the bearer token, given by reference, is never printed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from ingress_support import ingress_host, start_job
from runtime_support import RecordingSink
from runtime_testnodes.topics import TOPIC_START_JOB

from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.testing.eventually import eventually
from omnibase_infra.testing.fixtures.kafka import make_kafka_settings
from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.oidc import OidcProviderServer
from omnibase_infra.testing.servers.tansu import TansuServer

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "onex-infra")


async def _send(*args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        "send",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "400", **env},
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _data_file(tmp_path: Path) -> tuple[Path, str]:
    payload = start_job()
    path = tmp_path / "job.json"
    path.write_text(json.dumps(payload))
    return path, str(payload["job_id"])


async def test_send_through_the_ingress_prints_the_ids_and_the_node_handles_it(
    tmp_path: Path,
) -> None:
    """``send TOPIC --payload-type T --data @file -o json`` exits 0 printing the envelope and
    correlation ids; the job is recorded under that correlation id."""
    sink = RecordingSink()
    path, job_id = _data_file(tmp_path)
    async with ingress_host(sink) as (_, client):
        code, out, err = await _send(
            TOPIC_START_JOB,
            "--payload-type",
            "ModelRtStartJob",
            "--data",
            f"@{path}",
            "--ingress",
            str(client.base_url),
            "-o",
            "json",
        )
        assert code == 0, err
        await eventually(lambda: sink.recorded, "the job recorded")
    accepted = json.loads(out)
    UUID(accepted["envelope_id"])
    assert sink.recorded[0].correlation_id == UUID(accepted["correlation_id"])
    assert str(sink.recorded[0].job.job_id) == job_id


async def test_send_ndjson_goes_in_batches_and_every_event_is_handled(tmp_path: Path) -> None:
    """``--data @events.ndjson --batch-size 2`` sends 5 events through the batch route (three
    requests), prints all 5 ids in order, and every job is recorded."""
    sink = RecordingSink()
    jobs = [start_job(key=f"nd-{i}", seq=i) for i in range(5)]
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    async with ingress_host(sink) as (_, client):
        code, out, err = await _send(
            TOPIC_START_JOB,
            "--payload-type",
            "ModelRtStartJob",
            "--data",
            f"@{path}",
            "--batch-size",
            "2",
            "--ingress",
            str(client.base_url),
            "-o",
            "json",
        )
        assert code == 0, err
        await eventually(lambda: len(sink.recorded) >= 5, "every job recorded")
    accepted = json.loads(out)
    assert accepted["count"] == 5
    assert len({e["envelope_id"] for e in accepted["events"]}) == 5
    assert {str(r.job.job_id) for r in sink.recorded} == {str(j["job_id"]) for j in jobs}


async def test_send_ndjson_with_a_bad_line_names_its_index_in_the_file(tmp_path: Path) -> None:
    """Envelopes, the fourth one bad, with ``--batch-size 2``: exit 2 naming body.3 (the
    file's index, not the batch's), and saying the first two events went in."""
    path = tmp_path / "events.ndjson"
    typed = [{"payload_type": "ModelRtStartJob", "payload": start_job(seq=i)} for i in range(3)]
    lines = [*(json.dumps(envelope) for envelope in typed), '{"envelope_id": "x"}']
    path.write_text("\n".join(lines))
    async with ingress_host(RecordingSink()) as (_, client):
        code, _, err = await _send(
            TOPIC_START_JOB,
            "--data",
            f"@{path}",
            "--batch-size",
            "2",
            "--ingress",
            str(client.base_url),
        )
    assert code == 2
    assert "refused (HTTP 422)" in err
    assert "body.3" in " ".join(err.split())
    assert "first 2 events were accepted" in " ".join(err.split())


async def test_send_refused_for_a_wrong_shape_exits_2_naming_the_field(tmp_path: Path) -> None:
    """A topic of a kind outsiders may not send to: exit 2 with the ingress's reason."""
    async with ingress_host(RecordingSink()) as (_, client):
        code, _, err = await _send(
            "onex.dlq.rtest.start-job.v1",
            "--payload-type",
            "ModelRtStartJob",
            "--data",
            "{}",
            "--ingress",
            str(client.base_url),
        )
    assert code == 2
    assert "refused (HTTP 422)" in err
    assert "path.topic" in err


async def test_a_bare_payload_sent_without_its_type_says_to_give_it() -> None:
    """A bare payload with no ``--payload-type`` is read as an envelope and refused (exit 2);
    the error says to give ``--payload-type``."""
    async with ingress_host(RecordingSink()) as (_, client):
        code, _, err = await _send(
            TOPIC_START_JOB, "--data", json.dumps(start_job()), "--ingress", str(client.base_url)
        )
    assert code == 2
    assert "refused (HTTP 422)" in err
    assert "for a bare payload give --payload-type" in " ".join(err.split())


async def test_send_with_a_token_reference_authenticates_and_never_prints_it(
    oidc_provider: OidcProviderServer, tmp_path: Path
) -> None:
    """``--token env://NAME`` sends the variable's token as bearer (202); without it the
    ingress refuses with 401 and the command exits 1; the token appears in no output."""
    await oidc_provider.set_claims("send-ivy", {"realm_access": {"roles": ["starter"]}})
    token = (await oidc_provider.issue_tokens("send-ivy", client_id="onex-send"))["id_token"]
    auth = {
        "auth": {
            "oidc": {"issuer_url": oidc_provider.issuer, "audience": ["onex-send"]},
            "roles": {"starter": ["onex.cmd.rtest.*"]},
        }
    }
    path, _ = _data_file(tmp_path)
    args = (TOPIC_START_JOB, "--payload-type", "ModelRtStartJob", "--data", f"@{path}")
    async with ingress_host(RecordingSink(), ingress=auth) as (_, client):
        url = str(client.base_url)
        with_token = await _send(
            *args, "--ingress", url, "--token", "env://INGRESS_TOKEN", INGRESS_TOKEN=token
        )
        without = await _send(*args, "--ingress", url)
    assert with_token[0] == 0, with_token[2]
    assert without[0] == 1
    assert "refused (HTTP 401)" in without[2]
    assert all(token not in text for text in (*with_token[1:], *without[1:]))


async def test_send_to_an_ingress_nobody_serves_exits_1_saying_so(tmp_path: Path) -> None:
    """No ingress at the URL: exit 1 with one line naming the URL."""
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = await _send(
        TOPIC_START_JOB, "--payload-type", "ModelRtStartJob", "--data", "{}", "--ingress", url
    )
    assert code == 1
    assert f"cannot reach the ingress at {url}" in " ".join(err.split())


@pytest.mark.slow
async def test_send_straight_to_kafka_is_handled(tansu_server: TansuServer, tmp_path: Path) -> None:
    """``--kafka BOOTSTRAP`` publishes the wrapped event to the broker; a host on that broker
    handles it under the given correlation id."""
    environment = f"send-{uuid4().hex[:8]}"
    bus = EventBusKafka(
        make_kafka_settings(tansu_server.bootstrap_servers), environment=environment
    )
    sink = RecordingSink()
    correlation = uuid4()
    path, _ = _data_file(tmp_path)
    async with ingress_host(
        sink, bus=bus, environment=environment, event_bus={"kind": "kafka", "retry": None}
    ):
        code, out, err = await _send(
            TOPIC_START_JOB,
            "--payload-type",
            "ModelRtStartJob",
            "--data",
            f"@{path}",
            "--correlation-id",
            str(correlation),
            "--kafka",
            tansu_server.bootstrap_servers,
            HOME=str(tmp_path),
            ONEX_CONFIG="",
        )
        assert code == 0, err
        await eventually(
            lambda: any(r.correlation_id == correlation for r in sink.recorded),
            "the job recorded through Kafka",
        )
    assert str(correlation) in out
