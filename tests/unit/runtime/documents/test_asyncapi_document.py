"""The AsyncAPI document built from contracts: a channel per topic, operations per node, messages
whose payload is core's envelope around the declared model, where each topic's model is taken
from, servers from the config without secrets, and refusals of models that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import JsonValue
from structlog.testing import capture_logs

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.nodes import __file__ as nodes_init
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.documents.asyncapi import build_asyncapi_document

NODES = Path(nodes_init).parent
MODELS = "omnibase_infra.nodes.registration.models"
V1 = {"major": 1, "minor": 0, "patch": 0}
JOB_IN, JOB_OUT = "onex.cmd.unit.job.v1", "onex.evt.unit.job-done.v1"


def _package_contracts() -> list[ModelNodeContract]:
    return [
        load_contract(path, allowlist=DEFAULT_ALLOWLIST)
        for path in sorted(NODES.glob("*/contract.yaml"))
    ]


def _document(contracts: list[ModelNodeContract], **config: JsonValue) -> dict[str, JsonValue]:
    return build_asyncapi_document(
        contracts, load_runtime_config(None, **config), allowlist=DEFAULT_ALLOWLIST
    )


def _orchestrator(
    tmp_path: Path, event_bus: dict[str, object] | None = None, **overrides: object
) -> ModelNodeContract:
    """An orchestrator on JOB_IN -> JOB_OUT (``event_bus`` merged in), written and loaded."""
    event_bus = {
        "version": V1,
        "subscribe_topics": [JOB_IN],
        "publish_topics": [JOB_OUT],
        **(event_bus or {}),
    }
    data = {
        "name": "unit_job_orchestrator",
        "contract_version": V1,
        "description": "test",
        "node_type": "ORCHESTRATOR_GENERIC",
        "input_model": f"{MODELS}.ModelRuntimeTick",
        "output_model": f"{MODELS}.ModelNodeStateChanged",
        "performance": {"single_operation_max_ms": 100},
        "event_bus": event_bus,
        **overrides,
    }
    path = tmp_path / "node" / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_contract(path, allowlist=DEFAULT_ALLOWLIST)


def _messages(document: dict[str, JsonValue], topic: str) -> list[str]:
    channels = document["channels"]
    assert isinstance(channels, dict)
    channel = channels[topic]
    assert isinstance(channel, dict)
    assert isinstance(channel["messages"], dict)
    return list(channel["messages"])


def _component(document: dict[str, JsonValue], kind: str, name: str) -> dict[str, JsonValue]:
    components = document["components"]
    assert isinstance(components, dict)
    section = components[kind]
    assert isinstance(section, dict)
    value = section[name]
    assert isinstance(value, dict)
    return value


def test_package_document_has_every_topic_operation_and_model() -> None:
    """Each topic of the package's nodes is a channel; each node's use of it an operation; the
    introspection topic carries both accepted shapes; a payload is the model in core's envelope."""
    contracts = _package_contracts()
    document = _document(contracts)
    uses = {
        f"{c.name}.{action}.{topic}"
        for c in contracts
        for action, topics in (("receive", c.subscribe_topics), ("send", c.publish_topics))
        for topic in topics
    }
    assert isinstance(document["operations"], dict)
    assert set(document["operations"]) == uses
    assert isinstance(document["channels"], dict)
    # registration 12, four adapter nodes 3 each, the Keycloak adapter 10 (4 cmd, 6 evt), the
    # health monitor 1
    assert len(document["channels"]) == 35
    assert document["asyncapi"] == "3.0.0"
    introspection = "onex.evt.platform.node-introspection.v1"
    assert _messages(document, introspection) == [
        "ModelNodeIntrospectionEvent",
        "ModelPublishedIntrospection",
    ]
    assert _messages(document, "onex.evt.platform.node-became-stale.v1") == [
        "ModelNodeStateChanged"
    ]
    message = _component(document, "messages", "ModelNodeStateChanged")
    assert message["headers"] == {"$ref": "#/components/schemas/OnexMessageHeaders"}
    envelope_ref = message["payload"]
    assert isinstance(envelope_ref, dict)
    assert isinstance(envelope_ref["$ref"], str)
    envelope = _component(document, "schemas", envelope_ref["$ref"].rsplit("/", 1)[1])
    properties = envelope["properties"]
    assert isinstance(properties, dict)
    assert isinstance(properties["payload"], dict)
    assert properties["payload"]["$ref"] == "#/components/schemas/ModelNodeStateChanged"
    assert {"correlation_id", "envelope_id", "payload_type"} <= set(properties)
    state_changed = _component(document, "schemas", "ModelNodeStateChanged")
    assert isinstance(state_changed["properties"], dict)
    assert {"node_id", "from_state", "to_state"} <= set(state_changed["properties"])
    channel = document["channels"][introspection]
    assert isinstance(channel, dict)
    assert channel["x-onex-topic"] == {
        "kind": "evt",
        "producer": "platform",
        "event": "node-introspection",
        "version": 1,
    }


def test_servers_follow_the_config_and_carry_no_secret() -> None:
    """The in-memory bus is one server described as in-process; Kafka is one server per
    bootstrap address with its SASL scheme, and no credential text reaches the document."""
    memory = _document([])
    assert isinstance(memory["servers"], dict)
    assert list(memory["servers"]) == ["inmemory"]
    kafka = _document(
        [],
        event_bus={
            "kind": "kafka",
            "kafka": {
                "bootstrap_servers": "broker-a:9092, broker-b:9093",
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "unit-user",
                "sasl_password": "env://UNIT_KAFKA_PASSWORD",
            },
        },
    )
    servers = kafka["servers"]
    assert isinstance(servers, dict)
    assert [(s["host"], s["protocol"]) for s in servers.values() if isinstance(s, dict)] == [
        ("broker-a:9092", "kafka-secure"),
        ("broker-b:9093", "kafka-secure"),
    ]
    scheme = _component(kafka, "securitySchemes", "kafkaSasl")
    assert scheme["type"] == "scramSha512"
    text = json.dumps(kafka)
    assert "UNIT_KAFKA_PASSWORD" not in text
    assert "unit-user" not in text


def test_payload_models_come_from_metadata_routes_then_the_contract_models(
    tmp_path: Path,
) -> None:
    """Topic metadata wins; else a route's event model; else input/output model for the one
    topic of that direction."""
    by_models = _document([_orchestrator(tmp_path)])
    assert _messages(by_models, JOB_IN) == ["ModelRuntimeTick"]
    assert _messages(by_models, JOB_OUT) == ["ModelNodeStateChanged"]
    meta = {"schema_ref": f"{MODELS}.ModelNodeRegistrationAccepted"}
    routed = _orchestrator(
        tmp_path,
        event_bus={"publish_topic_metadata": {JOB_OUT: meta}},
        handler_routing={
            "version": V1,
            "handlers": [
                {
                    "handler": {"name": "HandlerJob", "module": "omnibase_infra.x"},
                    "event_model": {"name": "ModelNodeHeartbeat", "module": MODELS},
                    "topic": JOB_IN,
                }
            ],
        },
    )
    document = _document([routed])
    assert _messages(document, JOB_IN) == ["ModelNodeHeartbeat"]
    assert _messages(document, JOB_OUT) == ["ModelNodeRegistrationAccepted"]


def test_an_undeclared_payload_is_a_bare_envelope_with_a_warning(tmp_path: Path) -> None:
    """Two published topics and no metadata: the output model is not guessed; the message is
    the envelope with an undeclared payload and a warning names where to declare it."""
    second = "onex.evt.unit.job-failed.v1"
    contract = _orchestrator(tmp_path, event_bus={"publish_topics": [JOB_OUT, second]})
    with capture_logs() as logs:
        document = _document([contract])
    assert _messages(document, second) == ["UndeclaredPayload"]
    warned = [log for log in logs if log.get("topic") == second]
    assert warned
    assert warned[0]["declare_at"] == (f"event_bus.publish_topic_metadata.{second}.schema_ref")
    message = _component(document, "messages", "UndeclaredPayload")
    assert message["payload"] == {"$ref": "#/components/schemas/ModelEventEnvelope_JsonValue_"}


@pytest.mark.parametrize(
    ("schema_ref", "reason"),
    [
        ("os.path.join", "outside the handler import allowlist"),
        ("omnibase_infra.no_such_module.ModelX", "cannot import omnibase_infra.no_such_module"),
        ("omnibase_infra.nodes.registration.topics.TOPIC_NODE_ACKED", "is not a pydantic model"),
        ("ModelWithoutModule", "is not module.ModelName"),
    ],
)
def test_unusable_payload_models_are_refused(tmp_path: Path, schema_ref: str, reason: str) -> None:
    """A schema_ref outside the allowlist, not importable, or not a model fails with the field."""
    contract = _orchestrator(
        tmp_path, event_bus={"subscribe_topic_metadata": {JOB_IN: {"schema_ref": schema_ref}}}
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        _document([contract])
    assert reason in caught.value.message
    assert caught.value.field == f"event_bus.subscribe_topic_metadata.{JOB_IN}.schema_ref"
