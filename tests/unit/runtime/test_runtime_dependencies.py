"""RuntimeDependencies: a dependency down at start is left pending (degraded) or stops the
start (fail_fast), is named by its check, and is connected by ``recover``."""

from __future__ import annotations

import pytest

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraConnectionError,
    InfraUnavailableError,
    ProtocolConfigurationError,
)
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.runtime.dependencies import RuntimeDependencies
from omnibase_infra.runtime.plugins.protocol_component_host import ProtocolComponentHost


class FlakyHandler:
    """A handler whose start fails with ``error`` until ``up`` is set."""

    def __init__(self, name: str, error: Exception | None = None) -> None:
        self.name = name
        self.error = error
        self.up = error is None
        self.started = False

    @property
    def handler_name(self) -> str:
        return self.name

    @property
    def transport_type(self) -> EnumInfraTransportType:
        return EnumInfraTransportType.DATABASE

    async def start(self) -> None:
        if not self.up and self.error is not None:
            raise self.error
        self.started = True

    async def ping(self) -> ModelHealthCheckResult:
        return ModelHealthCheckResult(name=self.name, healthy=self.started)

    async def close(self) -> None:
        self.started = False


class NeedsDatabase:
    """A component whose start needs ``handler`` started (as the migrations do)."""

    def __init__(self, handler: FlakyHandler) -> None:
        self.handler = handler
        self.started = False

    @property
    def name(self) -> str:
        return "migrations"

    async def start(self, host: ProtocolComponentHost) -> None:
        if not self.handler.started:
            raise InfraUnavailableError("handler is not started", retriable=False)
        self.started = True

    async def stop(self) -> None:
        self.started = False


def _refused() -> InfraConnectionError:
    return InfraConnectionError("connection refused")


async def test_a_dependency_down_at_start_is_pending_named_and_connected_by_recover() -> None:
    """Degraded: the failing handler is pending and its check says so; once it can start,
    recover connects it, starts the component waiting for it and calls on_recovered."""
    database = FlakyHandler("postgres", _refused())
    other = FlakyHandler("discovery-local")
    migrations = NeedsDatabase(database)
    recovered: list[bool] = []
    dependencies = RuntimeDependencies([database, other], fail_fast=False)
    dependencies.on_recovered(lambda: recovered.append(True))
    await dependencies.start_handlers()
    await dependencies.start_components([migrations], host=object())  # type: ignore[arg-type]
    assert dependencies.pending == ("postgres", "component migrations")
    checks = {check.name: check for check in await dependencies.checks()}
    assert checks["postgres"].healthy is False
    assert str(checks["postgres"].detail).startswith("down at start, reconnecting")
    assert checks["discovery-local"].healthy is True
    assert checks["migrations"].healthy is False
    assert await dependencies.recover() == ()
    assert recovered == []
    database.up = True
    assert await dependencies.recover() == ("postgres",)
    assert migrations.started
    assert dependencies.pending == ()
    assert recovered == [True]
    assert all(check.healthy for check in await dependencies.checks())


async def test_fail_fast_raises_the_first_dependency_failure() -> None:
    """fail_fast: a handler whose dependency is down stops the start with its error."""
    dependencies = RuntimeDependencies([FlakyHandler("valkey", _refused())], fail_fast=True)
    with pytest.raises(InfraConnectionError):
        await dependencies.start_handlers()


async def test_a_configuration_error_stops_even_a_degraded_start() -> None:
    """Degraded waits only for unreachable dependencies: a wrong setting still fails."""
    wrong = ProtocolConfigurationError("bad credentials", field="valkey.password")
    dependencies = RuntimeDependencies([FlakyHandler("valkey", wrong)], fail_fast=False)
    with pytest.raises(ProtocolConfigurationError):
        await dependencies.start_handlers()


async def test_a_component_failing_with_nothing_pending_stops_the_start() -> None:
    """A component's failure is its own when no dependency is pending: it is raised."""
    database = FlakyHandler("postgres")
    dependencies = RuntimeDependencies([database], fail_fast=False)
    await dependencies.start_handlers()
    await database.close()  # started, then gone: not a dependency down at start
    with pytest.raises(InfraUnavailableError):
        await dependencies.start_components([NeedsDatabase(database)], host=object())  # type: ignore[arg-type]
