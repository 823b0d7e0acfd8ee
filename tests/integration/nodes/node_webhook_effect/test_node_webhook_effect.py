"""node_webhook_effect through the runtime against a real HTTP receiver that verifies Standard
Webhooks signatures: deliveries and failures out as evt topics, retries then dead letters, and
one circuit breaker per endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from omnibase_infra.handlers.http.handler_http import HandlerHttp, new_webhook_secret
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.nodes.node_webhook_effect.model_webhook_deliver import ModelWebhookDeliver
from omnibase_infra.testing.adapter_host import AdapterHarness, adapter_host
from omnibase_infra.testing.servers.http import HttpTestServer

pytestmark = pytest.mark.integration

PACKAGED = Path(__file__).parents[4] / "src/omnibase_infra/nodes/node_webhook_effect"
CMD = "onex.cmd.webhook.deliver.v1"
DELIVERED = "onex.evt.webhook.delivered.v1"
FAILED = "onex.evt.webhook.delivery-failed.v1"


def _contract_dir(tmp_path: Path, server: HttpTestServer) -> Path:
    """The packaged contract with the test receiver's endpoints and a quick retry policy."""
    data = yaml.safe_load((PACKAGED / "contract.yaml").read_text())
    data["handler_config"]["endpoints"] = {
        "receiver": {"url": f"{server.url}/webhook"},
        "gone": {"url": f"{server.url}/status/410"},
        "down": {"url": f"{server.url}/status/503"},
    }
    data["handler_config"]["circuit_breaker"]["failure_threshold"] = 2
    data["error_handling"]["max_elapsed_seconds"] = 5  # never wait out an open breaker
    data["error_handling"]["retry"].update(
        {"max_retries": 1, "base_delay_seconds": 0.1, "max_delay_seconds": 1}
    )
    directory = tmp_path / "node_webhook_effect"
    directory.mkdir()
    (directory / "contract.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


async def _node(
    tmp_path: Path, server: HttpTestServer, http: HandlerHttp
) -> AsyncIterator[AdapterHarness]:
    async with adapter_host([_contract_dir(tmp_path, server)], services={HandlerHttp: http}) as h:
        await h.watch(DELIVERED, FAILED)
        yield h


@pytest_asyncio.fixture
async def webhook_node(
    tmp_path: Path, http_test_server: HttpTestServer
) -> AsyncIterator[AdapterHarness]:
    """The webhook node on a host, signing with the receiver's secret."""
    http = HandlerHttp(ModelHttpClientSettings(webhook_secret=http_test_server.webhook_secret))
    await http.start()
    try:
        async for harness in _node(tmp_path, http_test_server, http):
            yield harness
    finally:
        await http.close()


def _deliver(endpoint: str, **data: object) -> ModelWebhookDeliver:
    return ModelWebhookDeliver.model_validate(
        {"endpoint": endpoint, "event_type": "order.created", "data": data}
    )


async def test_a_delivery_is_signed_accepted_and_announced(
    webhook_node: AdapterHarness, http_test_server: HttpTestServer
) -> None:
    """The receiver verifies the signature and takes the body; the delivered event names the
    webhook-id the receiver saw."""
    reply = await webhook_node.request(CMD, _deliver("receiver", order="o-1"))
    assert reply.topic == DELIVERED
    assert reply.get("status_code") == 204
    message_id = reply.get("message_id")
    (seen,) = [
        entry
        for entry in await http_test_server.received()
        if isinstance(entry["headers"], dict) and entry["headers"].get("webhook-id") == message_id
    ]
    assert isinstance(seen["body"], str)
    assert json.loads(seen["body"]) == {"type": "order.created", "data": {"order": "o-1"}}


async def test_a_final_refusal_and_an_unknown_endpoint_are_failure_events(
    webhook_node: AdapterHarness,
) -> None:
    """A receiver answering 410 and an endpoint the contract does not name are answered by the
    failure event (with the status when there was one)."""
    gone = await webhook_node.request(CMD, _deliver("gone"))
    assert gone.topic == FAILED
    assert gone.get("status_code") == 410
    unknown = await webhook_node.request(CMD, _deliver("nowhere"))
    assert unknown.topic == FAILED
    assert "unknown endpoint" in str(unknown.get("reason"))


async def test_a_failing_endpoint_opens_only_its_own_breaker(
    webhook_node: AdapterHarness,
) -> None:
    """Deliveries to an endpoint answering 503 are retried then dead-lettered; once its
    breaker is open the next one is refused without a call, and another endpoint still
    gets its delivery."""
    for _ in range(2):
        reply = await webhook_node.request(CMD, _deliver("down"))
        assert reply.topic.startswith("onex.dlq.")
        assert reply.dlq_error_type == "InfraUnavailableError"
    refused = await webhook_node.request(CMD, _deliver("down"))
    assert refused.topic.startswith("onex.dlq.")
    assert "circuit" in str(refused.dlq_error_message).lower()
    other = await webhook_node.request(CMD, _deliver("receiver", order="o-2"))
    assert other.topic == DELIVERED


async def test_a_wrong_signing_secret_is_dead_lettered(
    tmp_path: Path, http_test_server: HttpTestServer
) -> None:
    """A receiver rejecting the signature (401) is not answered as a failure event: the
    command is dead-lettered as an authentication failure, without the secret."""
    secret = new_webhook_secret()
    http = HandlerHttp(ModelHttpClientSettings(webhook_secret=secret))
    await http.start()
    try:
        async for harness in _node(tmp_path, http_test_server, http):
            reply = await harness.request(CMD, _deliver("receiver"))
    finally:
        await http.close()
    assert reply.topic.startswith("onex.dlq.")
    assert reply.dlq_error_type == "InfraAuthenticationError"
    assert secret.get_secret_value() not in str(reply.dlq_error_message)
