"""The ingress's batch route of a running host (in-memory bus): a JSON array or NDJSON of bare
payloads or envelopes is answered with every id and every event is handled; one bad item
refuses the whole batch naming each item at fault and nothing of it is published; the batch's
events count against the rate limit one by one; count and size are bounded; OIDC auth applies
as to one event."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import pytest
from ingress_support import ingress_host, start_job
from pydantic import JsonValue
from runtime_support import RecordingSink
from runtime_testnodes.models import ModelRtStartJob
from runtime_testnodes.topics import TOPIC_SLOW_WORK, TOPIC_START_JOB

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.event_bus.codec import encode_envelope
from omnibase_infra.testing.eventually import eventually
from omnibase_infra.testing.servers.oidc import OidcProviderServer

pytestmark = pytest.mark.integration

BATCH = f"/v1/events/{TOPIC_START_JOB}/batch"
BARE = {"payload_type": "ModelRtStartJob"}
NDJSON = {"content-type": "application/x-ndjson"}


def _jobs(count: int) -> list[JsonValue]:
    return [start_job(key=f"batch-{i}", seq=i) for i in range(count)]


async def test_array_of_bare_payloads_is_answered_with_every_id_and_all_are_handled() -> None:
    """A JSON array of 25 payloads answers 202 with 25 ids under the header's correlation id,
    and the node records all 25 jobs."""
    sink = RecordingSink()
    correlation = uuid4()
    jobs = _jobs(25)
    async with ingress_host(sink) as (_, client):
        reply = await client.post(
            BATCH, params=BARE, json=jobs, headers={"X-Correlation-ID": str(correlation)}
        )
        assert reply.status_code == 202, reply.text
        await eventually(lambda: len(sink.recorded) >= 25, "every job recorded")
    body = reply.json()
    assert body["topic"] == TOPIC_START_JOB
    assert body["count"] == 25
    assert {UUID(e["correlation_id"]) for e in body["events"]} == {correlation}
    assert {str(r.job.job_id) for r in sink.recorded} == {
        str(j["job_id"]) for j in jobs if isinstance(j, dict)
    }
    assert len({e["envelope_id"] for e in body["events"]}) == 25


async def test_ndjson_of_envelopes_keeps_each_envelope_and_its_order_in_the_answer() -> None:
    """NDJSON of core's envelopes (blank lines skipped) answers each envelope's own ids in
    order, and every job is recorded under its envelope's correlation id."""
    sink = RecordingSink()
    envelopes = [
        ModelEventEnvelope(
            payload=ModelRtStartJob(job_id=uuid4(), key=f"nd-{i}", seq=i, value=1),
            payload_type="ModelRtStartJob",
            correlation_id=uuid4(),
            producer="outside",
        )
        for i in range(5)
    ]
    body = b"\n".join(encode_envelope(e) for e in envelopes) + b"\n\n"
    async with ingress_host(sink) as (_, client):
        reply = await client.post(BATCH, content=body, headers=NDJSON)
        assert reply.status_code == 202, reply.text
        await eventually(lambda: len(sink.recorded) >= 5, "every job recorded")
    answered = [e["envelope_id"] for e in reply.json()["events"]]
    assert answered == [str(e.envelope_id) for e in envelopes]
    assert {r.correlation_id for r in sink.recorded} == {e.correlation_id for e in envelopes}


async def test_one_bad_item_refuses_the_batch_naming_each_item_and_nothing_is_published() -> None:
    """A batch with two bad envelopes among good ones is a 422 listing body.<index>.<field>
    for both, echoing no value; none of its jobs is handled (a later single event is)."""
    sink = RecordingSink()
    secret_looking = "hunter2-" + uuid4().hex
    good = [
        json.loads(
            encode_envelope(
                ModelEventEnvelope(
                    payload=ModelRtStartJob(job_id=uuid4(), key=f"bad-{i}", seq=i, value=1),
                    payload_type="ModelRtStartJob",
                    producer="outside",
                )
            )
        )
        for i in range(4)
    ]
    items = [
        good[0],
        {**good[1], "correlation_id": secret_looking},
        good[2],
        {"payload": 1, "envelope_id": "nope"},
    ]
    async with ingress_host(sink) as (_, client):
        refused = await client.post(BATCH, json=items)
        ndjson = await client.post(
            BATCH, params=BARE, content=b'{"a": 1}\n{not json\n', headers=NDJSON
        )
        not_array = await client.post(BATCH, params=BARE, json={"a": 1})
        empty = await client.post(BATCH, params=BARE, json=[])
        after = await client.post(
            f"/v1/events/{TOPIC_START_JOB}", params=BARE, json=start_job(key="after")
        )
        assert after.status_code == 202
        await eventually(lambda: sink.recorded, "the later job recorded")
    assert refused.status_code == 422
    locs = [e["loc"] for e in refused.json()["detail"]]
    assert ["body", 1, "correlation_id"] in locs
    assert {tuple(loc[:2]) for loc in locs} >= {("body", 1), ("body", 3)}
    assert all(loc[1] in (1, 3) for loc in locs)
    assert secret_looking not in refused.text
    assert ndjson.status_code == 422
    assert [e["loc"][:2] for e in ndjson.json()["detail"]] == [["body", 1]]
    assert not_array.status_code == 422
    assert not_array.json()["detail"][0]["loc"] == ["body"]
    assert empty.status_code == 422
    assert [r.job.key for r in sink.recorded] == ["after"]


async def test_count_and_size_are_bounded_with_413() -> None:
    """More items than ingress.max_batch_events, or a body past ingress.max_batch_bytes, or
    more events than ingress.rate_burst, is refused with 413 naming the setting."""
    settings: dict[str, JsonValue] = {"max_batch_events": 10, "max_batch_bytes": 4096}
    async with ingress_host(RecordingSink(), ingress=settings) as (_, client):
        too_many = await client.post(BATCH, params=BARE, json=[{}] * 11)
        too_many_lines = await client.post(BATCH, params=BARE, content=b"{}\n" * 11, headers=NDJSON)
        too_large = await client.post(BATCH, params=BARE, json=[{"pad": "x" * 5000}])
    async with ingress_host(RecordingSink(), ingress={"rate_burst": 3}) as (_, client):
        past_burst = await client.post(BATCH, params=BARE, json=_jobs(4))
    assert too_many.status_code == 413
    assert "ingress.max_batch_events" in too_many.json()["error"]
    assert too_many_lines.status_code == 413
    assert too_large.status_code == 413
    assert "ingress.max_batch_bytes" in too_large.json()["error"]
    assert past_burst.status_code == 413
    assert "ingress.rate_burst" in past_burst.json()["error"]


async def test_every_event_of_a_batch_counts_against_the_rate_limit() -> None:
    """With a burst of 5, a batch of 3 is accepted, a second batch of 3 is 429 with
    Retry-After (the bucket holds 2), and the one event left in the bucket still goes in."""
    settings: dict[str, JsonValue] = {"rate_burst": 5, "rate_per_second": 0.01}
    async with ingress_host(RecordingSink(), ingress=settings) as (_, client):
        first = await client.post(BATCH, params=BARE, json=_jobs(3))
        second = await client.post(BATCH, params=BARE, json=_jobs(3))
        single = await client.post(
            f"/v1/events/{TOPIC_START_JOB}", params=BARE, json=start_job(key="single")
        )
        empty_bucket = await client.post(BATCH, params=BARE, json=_jobs(1))
    assert first.status_code == 202
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert single.status_code == 202
    assert empty_bucket.status_code == 429


async def test_batch_needs_a_token_whose_role_allows_the_topic(
    oidc_provider: OidcProviderServer,
) -> None:
    """With OIDC auth: no token is 401, a role not allowing the topic is 403, a role allowing
    it is 202 and every event of the batch is handled."""
    sink = RecordingSink()
    subject = "ingress-batch-starter"
    await oidc_provider.set_claims(subject, {"realm_access": {"roles": ["starter"]}})
    token = (await oidc_provider.issue_tokens(subject, client_id="onex-ingress"))["id_token"]
    auth: dict[str, JsonValue] = {
        "auth": {
            "oidc": {"issuer_url": oidc_provider.issuer, "audience": ["onex-ingress"]},
            "roles": {"starter": ["onex.cmd.rtest.start-*"]},
        }
    }
    bearer = {"Authorization": f"Bearer {token}"}
    async with ingress_host(sink, ingress=auth) as (_, client):
        anonymous = await client.post(BATCH, params=BARE, json=_jobs(2))
        forbidden = await client.post(
            f"/v1/events/{TOPIC_SLOW_WORK}/batch", params=BARE, json=[{}], headers=bearer
        )
        allowed = await client.post(BATCH, params=BARE, json=_jobs(3), headers=bearer)
        assert allowed.status_code == 202, allowed.text
        await eventually(lambda: len(sink.recorded) >= 3, "every job recorded")
    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert token not in forbidden.text + allowed.text


async def test_openapi_and_docs_describe_the_batch_route() -> None:
    """/openapi.json documents POST /v1/events/{topic}/batch with its 202 model and refusals,
    and /docs lists it."""
    async with ingress_host(RecordingSink()) as (_, client):
        openapi = (await client.get("/openapi.json")).json()
        page = (await client.get("/docs")).text
    operation = openapi["paths"]["/v1/events/{topic}/batch"]["post"]
    assert {"202", "401", "403", "413", "422", "429"} <= set(operation["responses"])
    assert "application/x-ndjson" in operation["requestBody"]["content"]
    assert "POST /v1/events/{topic}/batch" in page
