"""HandlerConsul's failures against real sockets: agent down, stalled, ACL-protected, wrong dc."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    RuntimeHostError,
)
from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.testing import FakeConsulAgent, free_port

pytestmark = pytest.mark.integration

_REGISTRATION = ModelServiceRegistration(
    service_id="web-1",
    name="web",
    checks=(ModelDiscoveryCheck(ttl_seconds=30, initial_status=EnumCheckStatus.PASSING),),
)


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers a request."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def _leaks(error: BaseException, secret: str) -> bool:
    """Whether ``secret`` appears anywhere an error is shown or serialised."""
    texts = [str(error), repr(error)]
    if isinstance(error, RuntimeHostError):
        texts.append(error.model.model_dump_json())
        texts.append(error.infra_context.model_dump_json())
    return any(secret in text for text in texts)


async def test_start_against_a_closed_port_is_a_connection_error() -> None:
    """start() with nothing listening raises a retriable InfraConnectionError naming CONSUL."""
    handler = HandlerConsul(ModelConsulSettings(base_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(InfraConnectionError) as caught:
        await handler.start()
    assert caught.value.retriable is True
    assert caught.value.infra_context.transport_type is EnumInfraTransportType.CONSUL
    assert caught.value.infra_context.operation == "start"
    await handler.close()


async def test_calls_after_the_agent_stops_are_connection_errors() -> None:
    """When the agent goes away mid-life, calls raise InfraConnectionError and ping reports it."""
    agent = FakeConsulAgent()
    await agent.start()
    handler = HandlerConsul(ModelConsulSettings(base_url=agent.base_url))
    await handler.start()
    try:
        await handler.register_service(_REGISTRATION)
        await agent.stop()
        with pytest.raises(InfraConnectionError) as caught:
            await handler.healthy_instances("web")
        assert caught.value.retriable is True
        health = await handler.ping()
        assert health.healthy is False
        assert health.detail is not None
        assert "InfraConnectionError" in health.detail
    finally:
        await handler.close()
        await agent.stop()


async def test_a_stalled_agent_is_a_timeout(stalled_port: int) -> None:
    """An agent that accepts but never answers makes the call raise InfraTimeoutError."""
    handler = HandlerConsul(
        ModelConsulSettings(
            base_url=f"http://127.0.0.1:{stalled_port}",
            timeout_seconds=0.3,
            verify_on_start=False,
        )
    )
    await handler.start()
    try:
        with pytest.raises(InfraTimeoutError) as caught:
            await handler.kv_get("any/key")
        assert caught.value.retriable is True
        assert caught.value.infra_context.operation == "kv_get"
    finally:
        await handler.close()


async def test_a_blocking_read_outlives_the_client_timeout() -> None:
    """A blocking read longer than the client timeout returns normally (the timeout stretches)."""
    async with FakeConsulAgent() as agent:
        handler = HandlerConsul(ModelConsulSettings(base_url=agent.base_url, timeout_seconds=0.2))
        await handler.start()
        try:
            before = await handler.kv_get("watched")
            after = await handler.kv_get(
                "watched", blocking=ModelBlockingQuery(index=before.index, wait_seconds=0.6)
            )
            assert after == before
        finally:
            await handler.close()


async def test_wrong_token_is_an_authentication_error_that_never_leaks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A token the agent does not know gives InfraAuthenticationError; the token shows nowhere."""
    wrong = f"wrong-{uuid.uuid4().hex}"
    async with FakeConsulAgent(acl_token=f"right-{uuid.uuid4().hex}") as agent:
        settings = ModelConsulSettings(base_url=agent.base_url, token=wrong)
        handler = HandlerConsul(settings)
        await handler.start()  # status endpoints need no token, as on a real agent
        try:
            with pytest.raises(InfraAuthenticationError) as caught:
                await handler.register_service(_REGISTRATION)
            with pytest.raises(InfraAuthenticationError):
                await handler.kv_get("config")
            error = caught.value
            assert error.retriable is False
            assert not _leaks(error, wrong)
            assert wrong not in repr(handler)
            assert wrong not in repr(settings)
            get_logger("tests.consul").error(
                "registration failed", error=str(error), token=wrong, exc_info=error
            )
            assert wrong not in capsys.readouterr().err
        finally:
            await handler.close()


async def test_right_token_works_and_anonymous_reads_are_filtered() -> None:
    """With ACLs on, the right token may write; without one writes fail and reads come empty."""
    token = f"right-{uuid.uuid4().hex}"
    async with FakeConsulAgent(acl_token=token) as agent:
        authorised = HandlerConsul(ModelConsulSettings(base_url=agent.base_url, token=token))
        anonymous = HandlerConsul(ModelConsulSettings(base_url=agent.base_url))
        await authorised.start()
        await anonymous.start()
        try:
            await authorised.register_service(_REGISTRATION)
            assert (await authorised.healthy_instances("web")).service_ids == ("web-1",)
            with pytest.raises(InfraAuthenticationError):
                await anonymous.deregister_service("web-1")
            assert (await anonymous.healthy_instances("web")).instances == ()
            assert (await anonymous.list_services()).services == {}
            assert (await authorised.list_services()).services == {"web": ()}
        finally:
            await authorised.close()
            await anonymous.close()


async def test_an_unknown_datacenter_is_unavailable() -> None:
    """A read for a datacenter the agent cannot reach (its 500) raises InfraUnavailableError."""
    async with FakeConsulAgent(datacenter="dc1") as agent:
        handler = HandlerConsul(ModelConsulSettings(base_url=agent.base_url, datacenter="dc9"))
        await handler.start()
        try:
            with pytest.raises(InfraUnavailableError) as caught:
                await handler.healthy_instances("web")
            assert caught.value.retriable is True
            assert "No path to datacenter" in str(caught.value)
        finally:
            await handler.close()


async def test_calls_before_start_are_refused() -> None:
    """A call on a handler that was never started raises a non-retriable error, no I/O."""
    handler = HandlerConsul(ModelConsulSettings(base_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(RuntimeHostError) as caught:
        await handler.list_services()
    assert caught.value.retriable is False
    await handler.close()
    await handler.close()  # closing twice is fine


async def test_fake_consul_fixture_serves_a_working_agent(fake_consul: FakeConsulAgent) -> None:
    """The shipped ``fake_consul`` fixture gives an agent a handler can register with."""
    handler = HandlerConsul(ModelConsulSettings(base_url=fake_consul.base_url))
    await handler.start()
    try:
        await handler.register_service(_REGISTRATION)
        assert (await handler.list_instances("web")).service_ids == ("web-1",)
        assert (await handler.ping()).healthy
    finally:
        await handler.close()
