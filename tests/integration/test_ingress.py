"""The ingress of a running host (in-memory bus, no auth): an event POSTed to 8083's route is
handled by the test nodes; every refusal (413, 422, 429) has its status, names the field and
never echoes the body; ``/docs`` is a page the ingress serves whole."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from ingress_support import ingress_host, start_job
from runtime_support import RecordingSink
from runtime_testnodes.models import ModelRtStartJob
from runtime_testnodes.topics import TOPIC_START_JOB

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.event_bus.codec import encode_envelope
from omnibase_infra.testing.eventually import eventually

pytestmark = pytest.mark.integration

ROUTE = f"/v1/events/{TOPIC_START_JOB}"


async def test_bare_payload_is_wrapped_published_and_handled() -> None:
    """A bare payload with its payload type answers 202 with the ids, and the test pipeline
    records the job under the correlation id the header gave."""
    sink = RecordingSink()
    correlation = uuid4()
    payload = start_job()
    async with ingress_host(sink) as (_, client):
        reply = await client.post(
            ROUTE,
            params={"payload_type": "ModelRtStartJob"},
            json=payload,
            headers={"X-Correlation-ID": str(correlation)},
        )
        assert reply.status_code == 202, reply.text
        body = reply.json()
        await eventually(lambda: sink.recorded, "the job recorded")
    assert body["topic"] == TOPIC_START_JOB
    assert UUID(body["correlation_id"]) == correlation
    UUID(body["envelope_id"])
    (recorded,) = sink.recorded
    assert str(recorded.job.job_id) == payload["job_id"]
    assert recorded.correlation_id == correlation


async def test_core_envelope_is_published_as_sent() -> None:
    """Core's envelope as the body keeps its own envelope and correlation ids."""
    sink = RecordingSink()
    command = ModelRtStartJob(job_id=uuid4(), key="e", seq=0, value=1)
    envelope = ModelEventEnvelope(
        payload=command,
        payload_type="ModelRtStartJob",
        correlation_id=uuid4(),
        producer="outside",
    )
    async with ingress_host(sink) as (_, client):
        reply = await client.post(
            ROUTE,
            content=encode_envelope(envelope),
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 202, reply.text
        await eventually(lambda: sink.recorded, "the job recorded")
    assert reply.json()["envelope_id"] == str(envelope.envelope_id)
    assert sink.recorded[0].correlation_id == envelope.correlation_id
    assert sink.recorded[0].job.job_id == command.job_id


async def test_envelope_without_correlation_gets_one_made() -> None:
    """A bare payload without X-Correlation-ID gets a new correlation id, answered."""
    sink = RecordingSink()
    async with ingress_host(sink) as (_, client):
        reply = await client.post(
            ROUTE, params={"payload_type": "ModelRtStartJob"}, json=start_job()
        )
        await eventually(lambda: sink.recorded, "the job recorded")
    assert reply.status_code == 202
    assert sink.recorded[0].correlation_id == UUID(reply.json()["correlation_id"])


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("onex.cmd.Bad.x.v1", "does not follow"),
        ("onex.dlq.rtest.start-job.v1", "kind 'dlq'"),
        ("onex.intent.rtest.record-job.v1", "kind 'intent'"),
        ("onex.cmd.rtest.start-job-retry2.v1", "retry topics"),
    ],
)
async def test_topics_off_grammar_or_not_for_outsiders_are_422(topic: str, reason: str) -> None:
    """Bad grammar, DLQ, intent and retry topics are refused with 422 naming path.topic."""
    async with ingress_host(RecordingSink()) as (_, client):
        reply = await client.post(
            f"/v1/events/{topic}", params={"payload_type": "ModelRtStartJob"}, json={}
        )
    assert reply.status_code == 422
    (entry,) = reply.json()["detail"]
    assert entry["loc"] == ["path", "topic"]
    assert reason in entry["msg"]


async def test_wrong_envelope_shape_is_422_with_field_paths_and_no_values() -> None:
    """An envelope with a bad field is refused naming body.<field>, without the value sent."""
    secret_looking = "hunter2-" + uuid4().hex
    async with ingress_host(RecordingSink()) as (_, client):
        reply = await client.post(
            ROUTE,
            content=json.dumps({"payload": {}, "correlation_id": secret_looking}),
            headers={"content-type": "application/json"},
        )
        not_json = await client.post(
            ROUTE, params={"payload_type": "ModelRtStartJob"}, content=b"{" + b"x" * 10
        )
        bad_header = await client.post(
            ROUTE,
            params={"payload_type": "ModelRtStartJob"},
            json={},
            headers={"X-Correlation-ID": secret_looking},
        )
        bad_type = await client.post(ROUTE, params={"payload_type": "no spaces"}, json={})
    assert reply.status_code == 422
    assert ["body", "correlation_id"] in [e["loc"] for e in reply.json()["detail"]]
    assert secret_looking not in reply.text
    assert not_json.status_code == 422
    assert not_json.json()["detail"][0]["loc"][0] == "body"
    assert bad_header.status_code == 422
    assert bad_header.json()["detail"][0]["loc"] == ["header", "x-correlation-id"]
    assert secret_looking not in bad_header.text
    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["loc"] == ["query", "payload_type"]


async def test_body_over_the_limit_is_413_declared_or_streamed() -> None:
    """A body past ingress.max_body_bytes is refused with 413, whether its length is declared
    or it arrives chunked."""
    async with ingress_host(RecordingSink(), ingress={"max_body_bytes": 2048}) as (_, client):
        declared = await client.post(
            ROUTE,
            params={"payload_type": "ModelRtStartJob"},
            json={"pad": "x" * 4096},
        )

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 1024

        streamed = await client.post(
            ROUTE, params={"payload_type": "ModelRtStartJob"}, content=chunks()
        )
    assert declared.status_code == 413
    assert "ingress.max_body_bytes" in declared.json()["error"]
    assert streamed.status_code == 413


async def test_rate_limit_per_client_is_429_with_retry_after() -> None:
    """Past its burst, a client gets 429 with a Retry-After header."""
    settings = {"rate_burst": 3, "rate_per_second": 0.5}
    async with ingress_host(RecordingSink(), ingress=settings) as (_, client):
        statuses = []
        for seq in range(5):
            reply = await client.post(
                ROUTE, params={"payload_type": "ModelRtStartJob"}, json=start_job(seq=seq)
            )
            statuses.append(reply.status_code)
    assert statuses == [202, 202, 202, 429, 429]
    assert int(reply.headers["retry-after"]) >= 1


async def test_docs_page_is_served_whole_by_the_ingress() -> None:
    """/docs is an HTML page that loads nothing from elsewhere (no script, no stylesheet link,
    no absolute URL), describes the route, and /openapi.json documents it."""
    async with ingress_host(RecordingSink()) as (_, client):
        page = await client.get("/docs")
        openapi = (await client.get("/openapi.json")).json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "POST /v1/events/{topic}" in page.text
    assert "<script" not in page.text
    assert not re.search(r"(src|href)=['\"](https?:)?//", page.text)
    operation = openapi["paths"]["/v1/events/{topic}"]["post"]
    assert {p["name"] for p in operation["parameters"]} >= {"topic", "payload_type"}
    assert {"202", "401", "403", "413", "422", "429"} <= set(operation["responses"])
