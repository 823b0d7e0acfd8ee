"""node_vault_adapter_effect through the runtime against a real OpenBao: KV commands in on the
cmd topic, results and failures out as evt topics, AppRole authentication refreshed, and
infrastructure failures dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_kv_command import (
    ModelVaultKvCommand,
)
from omnibase_infra.testing.adapter_host import AdapterHarness, adapter_host
from omnibase_infra.testing.servers.openbao import OpenBaoServer

pytestmark = pytest.mark.integration

PACKAGED = Path(__file__).parents[4] / "src/omnibase_infra/nodes/node_vault_adapter_effect"
CMD = "onex.cmd.vault-adapter.kv.v1"
COMPLETED = "onex.evt.vault-adapter.kv-completed.v1"
FAILED = "onex.evt.vault-adapter.kv-failed.v1"
KV_POLICY = 'path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }'


@pytest_asyncio.fixture
async def approle_vault(openbao_server: OpenBaoServer) -> AsyncIterator[HandlerVault]:
    """A started HandlerVault logged in with an AppRole allowed to use the KV mount."""
    await openbao_server.create_policy("adapter-kv", KV_POLICY)
    role_id, secret_id = await openbao_server.create_approle("adapter", policies=("adapter-kv",))
    handler = HandlerVault(
        ModelVaultSettings(
            url=openbao_server.url, approle_role_id=role_id, approle_secret_id=secret_id
        )
    )
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


@pytest_asyncio.fixture
async def vault_node(approle_vault: HandlerVault) -> AsyncIterator[AdapterHarness]:
    """The packaged Vault adapter on a host, watching its result topics."""
    async with adapter_host([PACKAGED], services={HandlerVault: approle_vault}) as harness:
        await harness.watch(COMPLETED, FAILED)
        yield harness


def _command(**fields: object) -> ModelVaultKvCommand:
    return ModelVaultKvCommand.model_validate(fields)


def _path() -> str:
    return f"onex/adapter-test/{uuid.uuid4().hex[:12]}"


async def test_write_read_list_delete_round_trip_as_events(vault_node: AdapterHarness) -> None:
    """A write answers with its version, a read with the values, a list with the key, and
    after a delete the read answers not found."""
    path = _path()
    written = await vault_node.request(
        CMD, _command(action="write", path=path, data={"user": "svc", "password": "p-123"})
    )
    assert written.topic == COMPLETED
    assert written.get("version") == 1
    read = await vault_node.request(CMD, _command(action="read", path=path))
    assert read.topic == COMPLETED
    assert read.get("data") == {"user": "svc", "password": "p-123"}
    folder, _, key = path.rpartition("/")
    listed = await vault_node.request(CMD, _command(action="list", path=folder))
    assert key in listed.get("keys")
    deleted = await vault_node.request(CMD, _command(action="delete", path=path))
    assert deleted.topic == COMPLETED
    gone = await vault_node.request(CMD, _command(action="read", path=path))
    assert gone.get("found") is False


async def test_a_check_and_set_conflict_is_a_failure_event(vault_node: AdapterHarness) -> None:
    """A write whose check-and-set version is stale is answered by the failure event."""
    path = _path()
    await vault_node.request(CMD, _command(action="write", path=path, data={"v": "1"}, cas=0))
    reply = await vault_node.request(
        CMD, _command(action="write", path=path, data={"v": "secret-2"}, cas=0)
    )
    assert reply.topic == FAILED
    assert "check-and-set" in str(reply.payload)
    assert "secret-2" not in str(reply.payload)


async def test_a_path_outside_the_contract_prefixes_is_refused(vault_node: AdapterHarness) -> None:
    """A path not under the contract's prefixes is refused before any request to Vault."""
    reply = await vault_node.request(CMD, _command(action="read", path="other/app/db"))
    assert reply.topic == FAILED
    assert "outside the prefixes" in str(reply.payload)


async def test_a_revoked_token_is_refreshed_by_a_new_approle_login(
    vault_node: AdapterHarness, approle_vault: HandlerVault, openbao_server: OpenBaoServer
) -> None:
    """With the AppRole token revoked behind its back, the adapter logs in again and the
    command succeeds."""
    path = _path()
    await vault_node.request(CMD, _command(action="write", path=path, data={"k": "v"}))
    await approle_vault._send(  # revoke our own token: Vault now rejects it
        "POST", "/v1/auth/token/revoke-self", operation="revoke", json_body={}
    )
    reply = await vault_node.request(CMD, _command(action="read", path=path))
    assert reply.topic == COMPLETED
    assert reply.get("data") == {"k": "v"}


async def test_a_stopped_server_is_retried_then_dead_lettered(
    openbao_server_fresh: OpenBaoServer,
) -> None:
    """With the server gone, the command is retried under the contract's policy and then
    dead-lettered as a connection failure; no failure event is published."""
    handler = HandlerVault(
        ModelVaultSettings.model_validate(
            {"url": openbao_server_fresh.url, "token": openbao_server_fresh.root_token}
        )
    )
    await handler.start()
    try:
        async with adapter_host([PACKAGED], services={HandlerVault: handler}) as harness:
            await harness.watch(COMPLETED, FAILED)
            openbao_server_fresh.stop()
            reply = await harness.request(CMD, _command(action="read", path=_path()))
    finally:
        await handler.close()
    assert reply.topic.startswith("onex.dlq.")
    assert reply.dlq_error_type == "InfraConnectionError"
