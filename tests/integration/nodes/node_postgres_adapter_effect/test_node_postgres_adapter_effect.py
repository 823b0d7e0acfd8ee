"""node_postgres_adapter_effect through the runtime against a real PostgreSQL: commands in on
the cmd topic, results and failures out as evt topics, infrastructure failures dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import BaseModel

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_operation_call import (
    ModelPostgresOperationCall,
)
from omnibase_infra.nodes.node_postgres_adapter_effect.model_postgres_run_operations import (
    ModelPostgresRunOperations,
)
from omnibase_infra.testing.adapter_host import AdapterHarness, adapter_host

pytestmark = pytest.mark.integration

PACKAGED = Path(__file__).parents[4] / "src/omnibase_infra/nodes/node_postgres_adapter_effect"
ITEMS = Path(__file__).parent / "contracts"
CMD = "onex.cmd.test-items.run-operations.v1"
COMPLETED = "onex.evt.test-items.operations-completed.v1"
FAILED = "onex.evt.test-items.operations-failed.v1"


@pytest_asyncio.fixture
async def items(postgres_handler: HandlerPostgres) -> AsyncIterator[AdapterHarness]:
    """The test items node (and the packaged node) on a host, with an empty items table."""
    await postgres_handler.execute(
        "CREATE TABLE adapter_items (id uuid PRIMARY KEY, name text NOT NULL, "
        "attributes jsonb, created_at timestamptz NOT NULL DEFAULT now())"
    )
    async with adapter_host([ITEMS, PACKAGED], services={HandlerPostgres: postgres_handler}) as h:
        await h.watch(COMPLETED, FAILED)
        yield h


def _run(*calls: tuple[str, dict[str, object]]) -> ModelPostgresRunOperations:
    return ModelPostgresRunOperations.model_validate(
        {"operations": [{"operation": name, "params": params} for name, params in calls]}
    )


async def test_the_packaged_operation_answers_on_its_result_topic(items: AdapterHarness) -> None:
    """The packaged contract's read-only operation returns the server's version as a row, on
    the packaged result topic, with the command's correlation id."""
    topic = "onex.evt.postgres-adapter.operations-completed.v1"
    await items.watch(topic)
    command = ModelPostgresRunOperations(
        operations=(ModelPostgresOperationCall(operation="server_version"),)
    )
    reply = await items.request("onex.cmd.postgres-adapter.run-operations.v1", command)
    assert reply.topic == topic
    assert reply.envelope.payload_type == "ModelPostgresOperationsCompleted"
    (result,) = reply.get("results")
    assert result["operation"] == "server_version"
    (row,) = result["rows"]
    assert str(row["version"]).split(".")[0].isdigit()


async def test_an_insert_then_a_read_round_trip_as_events(items: AdapterHarness) -> None:
    """An insert answers with its command tag; a read of it answers with the row as JSON
    (uuid and timestamp as text, jsonb as an object)."""
    item_id = str(uuid.uuid4())
    inserted = await items.request(
        CMD, _run(("insert_item", {"id": item_id, "name": "a", "attributes": {"k": [1, 2]}}))
    )
    assert inserted.topic == COMPLETED
    assert inserted.payload == {
        "results": [{"operation": "insert_item", "rows": [], "status": "INSERT 0 1"}]
    }
    read = await items.request(CMD, _run(("get_item", {"id": item_id})))
    assert read.topic == COMPLETED
    (result,) = read.get("results")
    (row,) = result["rows"]
    assert row["id"] == item_id
    assert row["name"] == "a"
    assert row["attributes"] == '{"k": [1, 2]}'  # jsonb comes back as the driver's text
    assert isinstance(row["created_at"], str)


async def test_operations_of_one_command_commit_together(items: AdapterHarness) -> None:
    """Several operations run in one transaction: each answers, and all are committed."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    reply = await items.request(
        CMD,
        _run(
            ("insert_item", {"id": first, "name": "a", "attributes": None}),
            ("insert_item", {"id": second, "name": "b", "attributes": None}),
            ("count_items", {}),
        ),
    )
    assert reply.topic == COMPLETED
    results = reply.get("results")
    assert [r["operation"] for r in results] == ["insert_item", "insert_item", "count_items"]
    assert results[2]["rows"] == [{"n": 2}]


async def test_a_failing_operation_rolls_back_the_command_and_names_itself(
    items: AdapterHarness, postgres_handler: HandlerPostgres
) -> None:
    """A constraint violation in the second operation is a failure event naming it and its
    SQLSTATE, without the row's values; the first operation is rolled back."""
    item_id = str(uuid.uuid4())
    reply = await items.request(
        CMD,
        _run(
            ("insert_item", {"id": item_id, "name": "secret-name-1", "attributes": None}),
            ("insert_item", {"id": item_id, "name": "secret-name-2", "attributes": None}),
        ),
    )
    assert reply.topic == FAILED
    payload = reply.payload
    assert isinstance(payload, dict)
    assert payload["operation"] == "insert_item"
    assert payload["sqlstate"] == "23505"
    assert payload["error_type"] == "UniqueViolationError"
    assert item_id not in str(payload)
    assert "secret-name" not in str(payload)
    assert await postgres_handler.fetchval("SELECT count(*) FROM adapter_items") == 0


@pytest.mark.parametrize(
    ("calls", "reason"),
    [
        ((("drop_everything", {}),), "unknown operation 'drop_everything'"),
        ((("get_item", {}),), "missing: id"),
        ((("get_item", {"id": "x", "sql": "DROP TABLE adapter_items"}),), "unknown: sql"),
        ((("get_item", {"id": "not-a-uuid"}),), "invalid input"),
    ],
    ids=["unknown operation", "missing parameter", "extra parameter", "bad value"],
)
async def test_a_command_the_contract_cannot_run_is_a_failure_event(
    items: AdapterHarness, calls: tuple[tuple[str, dict[str, object]], ...], reason: str
) -> None:
    """An unknown operation, a missing or extra parameter or a value of the wrong type is
    answered by the failure event with the reason; the table is untouched."""
    reply = await items.request(CMD, _run(*calls))
    assert reply.topic == FAILED
    assert reason in str(reply.payload)
    count = await items.request(CMD, _run(("count_items", {})))
    assert count.get("results")[0]["rows"] == [{"n": 0}]


class _SenderCommand(BaseModel):
    """A sender's own command model with a field the adapter does not have (SQL text)."""

    operations: list[dict[str, str]]


_SenderCommand.__name__ = "ModelPostgresRunOperations"  # routed like the real command


async def test_a_command_carrying_sql_is_refused_before_any_handler_runs(
    items: AdapterHarness,
) -> None:
    """SQL text in a command is not a field of the command: the message is dead-lettered as
    invalid, and nothing answers on the result topics."""
    command = _SenderCommand(operations=[{"operation": "count_items", "sql": "DELETE FROM x"}])
    reply = await items.request(CMD, command)
    assert reply.topic.startswith("onex.dlq.")
    assert reply.dlq_error_type == "EnvelopeValidationError"


async def test_an_unreachable_server_is_retried_then_dead_lettered(
    items: AdapterHarness, postgres_server: EmbeddedPostgres
) -> None:
    """With the server down, the command is retried under the contract's policy and then
    dead-lettered as a connection failure; no failure event is published."""
    await postgres_server.stop()
    reply = await items.request(CMD, _run(("count_items", {})))
    assert reply.topic.startswith("onex.dlq.")
    assert reply.dlq_error_type in {"InfraConnectionError", "InfraUnavailableError"}
