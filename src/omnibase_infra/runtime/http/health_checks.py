"""The pings behind ``/ready``: a handler's ping and the bus's health check, bounded, sanitised.

A check never raises and never hangs: a ping that raises or does not answer within
``PING_TIMEOUT_SECONDS`` is a failed check with a detail saying so. Every detail is sanitised
here, whoever built it: the report is served over HTTP and logged.
"""

from __future__ import annotations

import asyncio
import time

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.sanitize import sanitize_text

__all__ = ["PING_TIMEOUT_SECONDS", "bus_check", "failing", "handler_check"]

# How long /ready waits for one handler's ping before reporting it failed.
PING_TIMEOUT_SECONDS = 5.0


async def handler_check(handler: ProtocolInfraHandler) -> ModelHealthCheckResult:
    """A handler's ping, bounded; one that raises or hangs is a failed check, not a 500."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            result = await handler.ping()
    except TimeoutError:
        return ModelHealthCheckResult(
            name=handler.handler_name,
            healthy=False,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=f"ping did not answer within {PING_TIMEOUT_SECONDS} s",
        )
    except Exception as exc:  # the handler broke its never-raise rule; report, do not crash
        return ModelHealthCheckResult.failed(
            handler.handler_name, exc, (time.perf_counter() - started) * 1000
        )
    return _sanitised(result)


async def bus_check(bus: EventBusBase) -> ModelHealthCheckResult:
    """The bus's health check as a check named ``event_bus`` (its error as the detail)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            health = await bus.health_check()
    except TimeoutError:
        return ModelHealthCheckResult(
            name="event_bus",
            healthy=False,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=f"health check did not answer within {PING_TIMEOUT_SECONDS} s",
        )
    except Exception as exc:
        return ModelHealthCheckResult.failed("event_bus", exc)
    healthy = bool(health.get("healthy"))
    detail = health.get("error") or (None if healthy else health.get("status"))
    return _sanitised(
        ModelHealthCheckResult(
            name="event_bus",
            healthy=healthy,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=detail,
        )
    )


def failing(checks: tuple[ModelHealthCheckResult, ...]) -> list[str]:
    """``name: detail`` of every failed check (for a log line)."""
    return [f"{c.name}: {c.detail or 'unhealthy'}" for c in checks if not c.healthy]


def _sanitised(result: ModelHealthCheckResult) -> ModelHealthCheckResult:
    if result.detail is None:
        return result
    return result.model_copy(update={"detail": sanitize_text(result.detail)})
