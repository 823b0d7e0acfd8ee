"""What a runtime config stands up around the host: servers, handlers, services, components.

``local`` (the default, zero configuration): an embedded PostgreSQL in the user's data
directory on a free port, the in-process discovery backend, the in-memory bus. ``production``:
PostgreSQL from a DSN reference, Consul, Kafka, secrets from their references. Either way the
host gets its handlers (started, pinged by ``/ready``, closed by the host), the services the
container resolves by type, and the components it starts with it (migrations, the runtime's
clock, registration's router and call for introspection).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from omnibase_infra.errors import is_dependency_unavailable
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.handlers.discovery.handler_discovery_local import HandlerDiscoveryLocal
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.resilience.idempotency.store_memory import IdempotencyStoreInmemory
from omnibase_infra.resilience.idempotency.store_postgres import IdempotencyStorePostgres
from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.effect_outbox import OutboxRelayComponent
from omnibase_infra.runtime.plugins.components import (
    DEFAULT_TICK_SECONDS,
    MigrationsComponent,
    RuntimeTicker,
)
from omnibase_infra.runtime.plugins.protocol_runtime_component import ProtocolRuntimeComponent
from omnibase_infra.runtime.secrets import (
    is_secret_reference,
    resolve_secret,
    resolve_secret_fields,
)

if TYPE_CHECKING:
    # Imported where configured: their clients (redis alone is ~0.35 s) are not needed by
    # the local profile, and boot time is a target.
    from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
    from omnibase_infra.handlers.vault.handler_vault import HandlerVault

__all__ = ["ModelInfrastructure", "build_infrastructure"]

EMBEDDED_DATABASE = "onex"
# How often a degraded start asks a Vault that was down again.
_VAULT_RETRY_SECONDS = 1.0

_log = get_logger(__name__)


@dataclass
class ModelInfrastructure:
    """Handlers, container services and components for ``RuntimeHostProcess``."""

    handlers: list[ProtocolInfraHandler] = field(default_factory=list)
    services: dict[type[object], object] = field(default_factory=dict)
    components: list[ProtocolRuntimeComponent] = field(default_factory=list)
    bus: EventBusBase | None = None
    # Nodes the host must not load, with the reason (their infrastructure is not configured).
    exclude_nodes: dict[str, str] = field(default_factory=dict)
    postgres: HandlerPostgres | None = None
    embedded_postgres: EmbeddedPostgres | None = None


@contextlib.asynccontextmanager
async def build_infrastructure(
    config: ModelRuntimeConfig, *, embedded: Awaitable[EmbeddedPostgres] | None = None
) -> AsyncIterator[ModelInfrastructure]:
    """Stand up what ``config`` asks for; the embedded server stops when the block exits.

    ``embedded``: the embedded server's start, begun earlier by the caller (who then owns its
    stop); awaited here instead of starting one.
    """
    infra = ModelInfrastructure()
    # Every breaker the nodes build (their executors'), read by the health monitor.
    infra.services[CircuitBreakerRegistry] = CircuitBreakerRegistry()
    async with contextlib.AsyncExitStack() as stack:
        vault = await _vault(config, infra, stack)
        if config.event_bus.kind == "kafka":
            # Imported only when configured: librdkafka is not needed by the local profile.
            from omnibase_infra.event_bus.kafka.bus import EventBusKafka

            kafka = await resolve_secret_fields(config.event_bus.kafka, vault=vault)
            infra.bus = EventBusKafka(kafka, environment=config.environment)
        postgres_settings = await _postgres_settings(config, infra, stack, vault, embedded)
        if postgres_settings is not None:
            postgres = HandlerPostgres(postgres_settings)
            infra.postgres = postgres
            infra.handlers.append(postgres)
            infra.services[HandlerPostgres] = postgres
            infra.components.append(MigrationsComponent(postgres))
            infra.components.append(OutboxRelayComponent(postgres))
            infra.services[ProtocolIdempotencyStore] = IdempotencyStorePostgres(postgres)
        else:
            infra.services[ProtocolIdempotencyStore] = IdempotencyStoreInmemory()
        if config.valkey is not None:
            from omnibase_infra.handlers.valkey.handler_valkey import HandlerValkey

            valkey = HandlerValkey(await resolve_secret_fields(config.valkey, vault=vault))
            infra.handlers.append(valkey)
            infra.services[HandlerValkey] = valkey
        discovery = await _discovery(config, vault)
        infra.handlers.append(discovery)
        infra.services[ProtocolServiceDiscovery] = discovery
        await _http_client(config, infra, vault)
        await _keycloak(config, infra, vault)
        _add_node_plugins(config, infra)
        yield infra


def _add_node_plugins(config: ModelRuntimeConfig, infra: ModelInfrastructure) -> None:
    """Each plugin's services and components, after the runtime's clock.

    The clock always runs (any node may subscribe to its ticks), at the shortest interval a
    plugin asks for, else ``DEFAULT_TICK_SECONDS``.
    """
    components: list[ProtocolRuntimeComponent] = []
    intervals: list[float] = []
    for plugin, settings in config.node_settings():
        build = plugin.build(settings, dict(infra.services))
        if build.tick_interval_seconds is not None:
            intervals.append(build.tick_interval_seconds)
        if build.unavailable is not None:
            infra.exclude_nodes.update(dict.fromkeys(plugin.nodes, build.unavailable))
            continue
        infra.services.update(build.services)
        components.extend(build.components)
    infra.components.append(RuntimeTicker(min(intervals, default=DEFAULT_TICK_SECONDS)))
    infra.components.extend(components)


async def _vault(
    config: ModelRuntimeConfig, infra: ModelInfrastructure, stack: contextlib.AsyncExitStack
) -> HandlerVault | None:
    """Vault first: the other secret references may point into it."""
    if config.vault is None:
        return None
    from omnibase_infra.handlers.vault.handler_vault import HandlerVault

    token = config.vault.token
    reference = None if token is None else token.get_secret_value()
    vault = HandlerVault(
        await resolve_secret_fields(config.vault),
        # A rejected token is read again from its reference (rotated by whoever issues it).
        token_source=(
            functools.partial(resolve_secret, reference)
            if reference is not None
            and is_secret_reference(reference)
            and not reference.startswith("vault://")
            else None
        ),
    )
    stack.push_async_callback(vault.close)
    await _start_vault(vault, wait=config.startup == "degraded")
    infra.handlers.append(vault)
    infra.services[HandlerVault] = vault
    return vault


async def _start_vault(vault: HandlerVault, *, wait: bool) -> None:
    """Start Vault; degraded, a Vault that is down is waited for (other secret references may
    point into it), ``/ready`` naming it meanwhile."""
    logged = False
    while True:
        try:
            await vault.start()
        except Exception as exc:
            if not wait or not is_dependency_unavailable(exc):
                raise
            if not logged:
                _log.warning("vault down at start, waiting for it", error=str(exc))
                logged = True
            await asyncio.sleep(_VAULT_RETRY_SECONDS)
            continue
        if logged:
            _log.info("dependency connected", dependency=vault.handler_name)
        return


async def _http_client(
    config: ModelRuntimeConfig, infra: ModelInfrastructure, vault: HandlerVault | None
) -> None:
    """The outbound HTTP client nodes resolve (``HandlerHttp``), when configured."""
    if config.http_client is None:
        return
    from omnibase_infra.handlers.http.handler_http import HandlerHttp

    http = HandlerHttp(await resolve_secret_fields(config.http_client, vault=vault))
    infra.handlers.append(http)
    infra.services[HandlerHttp] = http


async def _keycloak(
    config: ModelRuntimeConfig, infra: ModelInfrastructure, vault: HandlerVault | None
) -> None:
    """Keycloak/OIDC for nodes (``HandlerKeycloak``), when configured."""
    if config.keycloak is None:
        return
    from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak

    keycloak = HandlerKeycloak(await resolve_secret_fields(config.keycloak, vault=vault))
    infra.handlers.append(keycloak)
    infra.services[HandlerKeycloak] = keycloak


async def _postgres_settings(
    config: ModelRuntimeConfig,
    infra: ModelInfrastructure,
    stack: contextlib.AsyncExitStack,
    vault: HandlerVault | None,
    embedded: Awaitable[EmbeddedPostgres] | None,
) -> ModelPostgresSettings | None:
    settings = config.postgres
    if settings.mode == "disabled":
        return None
    pool = {"pool_min_size": settings.pool_min_size, "pool_max_size": settings.pool_max_size}
    if settings.mode == "external":
        assert settings.dsn is not None  # the config model requires it in external mode
        dsn = await resolve_secret(settings.dsn, vault=vault)
        return ModelPostgresSettings.from_dsn(dsn.get_secret_value(), **pool)
    if embedded is not None:
        server = await embedded
    else:
        server = EmbeddedPostgres(settings.data_dir, die_with_parent=True)
        # Registered before the start: a start cancelled (a stop signal) or failing midway
        # still stops the server it spawned.
        stack.push_async_callback(server.stop)
        await server.start()
    infra.embedded_postgres = server
    await server.create_database(EMBEDDED_DATABASE, exist_ok=True)
    return server.settings(EMBEDDED_DATABASE, **pool)


async def _discovery(
    config: ModelRuntimeConfig, vault: HandlerVault | None
) -> HandlerConsul | HandlerDiscoveryLocal:
    if config.discovery.kind == "consul":
        from omnibase_infra.handlers.consul.handler_consul import HandlerConsul

        return HandlerConsul(await resolve_secret_fields(config.discovery.consul, vault=vault))
    return HandlerDiscoveryLocal()
