"""``EffectExecutor``: every handler call of an effect, under its contract's resilience policy.

The documented order, from the outside in::

    retry loop (backoff + jitter, max attempts, max elapsed time, Retry-After)
      └─ circuit breaker, checked before each attempt (an open circuit fails fast: no retry)
           └─ timeout of the attempt  ─►  handler call

A failed attempt is classified once: a server-side failure counts for the breaker, a retriable
one is retried after its delay, an ``InfraAuthenticationError`` triggers one credential refresh
and exactly one more attempt, anything else is raised at once. ``call`` is the hot path: all
configuration is resolved at construction, and a successful first attempt costs the breaker's
``admit`` and ``on_success`` (an attribute check each while CLOSED), one deadline registration
and one counter increment. ``execute`` adds idempotency
(claim before, record after) and the declared fallback (a degraded result instead of an error).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel, JsonValue

from omnibase_infra.deadlines import DeadlineWatchdog
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
)
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.mixin import Clock
from omnibase_infra.resilience.breaker.rules import OPEN
from omnibase_infra.resilience.classify import is_dependency_failure
from omnibase_infra.resilience.effect.metrics import effect_stats
from omnibase_infra.resilience.effect.model_effect_fallback import ModelEffectFallback
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.effect.model_effect_result import ModelEffectResult
from omnibase_infra.resilience.effect.model_idempotency_policy import ModelIdempotencyPolicy
from omnibase_infra.resilience.effect.protocol_credential_refresher import (
    ProtocolCredentialRefresher,
)
from omnibase_infra.resilience.effect.retry import RetryPolicy
from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.sanitize import sanitize_text

__all__ = ["EffectExecutor", "FallbackHandler", "Sleep"]

_log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
FallbackHandler = Callable[[BaseException], Awaitable[JsonValue]]

_RETRY_NOW = -1.0  # returned by _on_failure after a credential refresh


class EffectExecutor:
    """Runs the handler calls of one effect (``name``) with timeout, retry and breaker."""

    def __init__(
        self,
        name: str,
        *,
        operation: str | None = None,
        retry: RetryPolicy | None = None,
        breaker: AsyncCircuitBreaker | None = None,
        timeout_seconds: float | None = None,
        transport_type: EnumInfraTransportType | None = None,
        credential_refresher: ProtocolCredentialRefresher | None = None,
        idempotency: ModelIdempotencyPolicy | None = None,
        idempotency_store: ProtocolIdempotencyStore | None = None,
        fallback: ModelEffectFallback | None = None,
        fallback_handlers: Mapping[str, FallbackHandler] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.operation = operation or name
        self._retry = retry
        self._breaker = breaker
        self._watchdog = (
            None
            if timeout_seconds is None
            else DeadlineWatchdog(
                timeout_seconds,
                operation=self.operation,
                target_name=breaker.service_name if breaker is not None else name,
                transport_type=transport_type,
            )
        )
        self._budget = retry is not None and retry.max_elapsed_seconds is not None
        self._refresher = credential_refresher
        self._credential_generation = 0
        self._refresh_lock = asyncio.Lock()
        self._clock = clock
        self._sleep = sleep
        self._stats = effect_stats(name)
        self._idempotency = idempotency if idempotency and idempotency.enabled else None
        self._store = idempotency_store
        if self._idempotency is not None and idempotency_store is None:
            raise ProtocolConfigurationError(
                f"effect {name} is idempotent but no idempotency store was given",
                field="error_handling.idempotency",
            )
        self._fallback = fallback
        self._fallback_handler: FallbackHandler | None = None
        if fallback is not None and fallback.kind == "handler":
            handler = (fallback_handlers or {}).get(fallback.handler or "")
            if handler is None:
                raise ProtocolConfigurationError(
                    f"fallback handler {fallback.handler!r} of effect {name} is not registered",
                    field="error_handling.fallback.handler",
                )
            self._fallback_handler = handler

    @classmethod
    def from_policy(
        cls,
        name: str,
        policy: ModelEffectPolicy,
        *,
        breaker: AsyncCircuitBreaker | None = None,
        credential_refresher: ProtocolCredentialRefresher | None = None,
        idempotency_store: ProtocolIdempotencyStore | None = None,
        fallback_handlers: Mapping[str, FallbackHandler] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        random_source: Callable[[], float] | None = None,
    ) -> EffectExecutor:
        """The executor an effect contract's ``error_handling`` declares for capability ``name``.

        The only way an effect is put under its contract's policy. Transport and service name
        come from the contract (``policy.target(name)``). Pass ``breaker`` to share one breaker
        among the effects of one dependency; otherwise one is built from the policy's circuit
        breaker (if any).
        """
        target = policy.target(name)
        transport_type = target.transport
        if breaker is None and policy.circuit_breaker is not None:
            breaker = AsyncCircuitBreaker.from_subcontract(
                policy.circuit_breaker,
                target.service_name or name,
                transport_type,
                operation=name,
                node=name,
                clock=clock,
            )
        return cls(
            name,
            retry=RetryPolicy.from_subcontract(
                policy.retry,
                max_elapsed_seconds=policy.max_elapsed_seconds,
                random_source=random_source,
            ),
            breaker=breaker,
            timeout_seconds=policy.attempt_timeout_seconds,
            transport_type=transport_type,
            credential_refresher=credential_refresher,
            idempotency=policy.idempotency,
            idempotency_store=idempotency_store,
            fallback=policy.fallback,
            fallback_handlers=fallback_handlers,
            clock=clock,
            sleep=sleep,
        )

    @property
    def breaker(self) -> AsyncCircuitBreaker | None:
        """The circuit breaker in front of the dependency (None: no breaker)."""
        return self._breaker

    # -- the hot path --------------------------------------------------------------------------

    async def call[**P, T](
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``fn(*args, **kwargs)`` under timeout, breaker and retry; raises the final
        error (or the breaker's ``InfraUnavailableError``) when the call cannot succeed."""
        stats = self._stats
        stats.calls += 1
        breaker = self._breaker
        watchdog = self._watchdog
        started = self._clock() if self._budget else 0.0
        attempt = 1
        refreshed = False
        while True:
            if breaker is not None:
                try:
                    breaker.admit(self.operation)
                except InfraUnavailableError:
                    stats.rejected += 1
                    stats.failures += 1
                    raise
            generation = self._credential_generation
            entry = None if watchdog is None else watchdog.enter()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                error = (
                    exc if entry is None or watchdog is None else watchdog.leave_failed(entry, exc)
                )
                if not isinstance(error, Exception):
                    # Cancelled from outside (or interpreter exit): not the dependency's doing.
                    if breaker is not None:
                        breaker.release()
                    raise
                delay = await self._on_failure(error, attempt, started, refreshed, generation)
                if delay == _RETRY_NOW:
                    refreshed = True
                else:
                    await self._sleep(delay)
                    attempt += 1
                stats.extra_attempts += 1
                continue
            if entry is not None and watchdog is not None:
                watchdog.leave(entry)
            if breaker is not None:
                breaker.on_success()
            if attempt > 1 or refreshed:
                _log.info("effect call succeeded after retry", effect=self.name, attempts=attempt)
            return result

    async def _on_failure(
        self,
        error: Exception,
        attempt: int,
        started: float,
        refreshed: bool,
        generation: int,
    ) -> float:
        """Account for a failed attempt; return the delay before the next one, or raise."""
        stats = self._stats
        if isinstance(error, InfraTimeoutError):
            stats.timeouts += 1
        breaker = self._breaker
        if breaker is not None:
            breaker.record_outcome(error)
        if (
            isinstance(error, InfraAuthenticationError)
            and self._refresher is not None
            and not refreshed
        ):
            await self._refresh_credentials(generation)
            _log.warning(
                "effect attempt rejected credentials; refreshed, trying once more",
                effect=self.name,
                attempt=attempt,
            )
            return _RETRY_NOW
        retry = self._retry
        elapsed = self._clock() - started if self._budget else 0.0
        delay = None if retry is None else retry.next_delay(attempt, error, elapsed)
        if delay is None:
            stats.failures += 1
            _log.warning(
                "effect call failed",
                effect=self.name,
                attempt=attempt,
                error_type=type(error).__name__,
                error=sanitize_text(str(error))[:500],
                retriable=retry is not None and retry.is_retriable(error),
            )
            raise error
        if breaker is not None and breaker.state is OPEN:
            # This failure (or a concurrent one) opened the circuit: the retry would only be
            # rejected, so fail fast now (the platform's rule), saying when to come back.
            stats.failures += 1
            raise breaker.unavailable(self.operation) from error
        stats.retries += 1
        _log.warning(
            "effect attempt failed, retrying",
            effect=self.name,
            attempt=attempt,
            max_attempts=retry.max_attempts if retry is not None else 1,
            delay_seconds=round(delay, 3),
            error_type=type(error).__name__,
            error=sanitize_text(str(error))[:500],
        )
        return delay

    async def _refresh_credentials(self, generation: int) -> None:
        """Refresh once for all callers that saw the same stale credentials."""
        refresher = self._refresher
        assert refresher is not None
        async with self._refresh_lock:
            if self._credential_generation != generation:
                return  # another call refreshed while we were failing: just retry
            await refresher.refresh_credentials()
            self._credential_generation += 1
            self._stats.auth_refreshes += 1

    # -- idempotency and fallback --------------------------------------------------------------

    async def execute(
        self,
        fn: Callable[[], Awaitable[JsonValue | BaseModel]],
        *,
        idempotency_key: str | None = None,
        guarded: bool = True,
    ) -> ModelEffectResult:
        """Run the side effect at most once per key, with the declared fallback.

        ``guarded=False`` runs ``fn`` once, outside timeout/retry/breaker: for work that puts
        its own parts under this executor (the steps of a multi-step effect).

        With idempotency on (the default), ``idempotency_key`` (see ``idempotency_key()``) is
        claimed first: a key handled before returns its recorded result (``replayed``); a key
        another worker is handling right now raises a retriable ``InfraUnavailableError``
        (redeliver later). A failed side effect releases its claim.
        """
        policy = self._idempotency
        store = self._store
        token = None
        if policy is not None and store is not None:
            if idempotency_key is None:
                raise ProtocolConfigurationError(
                    f"effect {self.name} is idempotent: execute() needs an idempotency_key",
                    field="idempotency_key",
                )
            claim = await store.claim(
                self.name,
                idempotency_key,
                lease_seconds=policy.lease_seconds,
                ttl_seconds=policy.ttl_seconds,
            )
            if claim.outcome is EnumIdempotencyOutcome.COMPLETED:
                self._stats.replayed += 1
                return ModelEffectResult(value=claim.result, replayed=True)
            if claim.outcome is EnumIdempotencyOutcome.IN_PROGRESS:
                raise InfraUnavailableError(
                    f"effect {self.name}: the same message is being handled by another worker",
                    operation=self.name,
                    retry_after_seconds=claim.retry_after_seconds,
                )
            token = claim.token
        try:
            produced = await (self.call(fn) if guarded else fn())
        except Exception as exc:
            if store is not None and token is not None and idempotency_key is not None:
                await store.release(self.name, idempotency_key, token)
            return await self._degrade_or_raise(exc)
        value: JsonValue = (
            produced.model_dump(mode="json") if isinstance(produced, BaseModel) else produced
        )
        if (
            store is not None
            and token is not None
            and idempotency_key is not None
            and not await store.complete(self.name, idempotency_key, token, value)
        ):
            _log.error(
                "idempotency claim was taken over before the result was recorded",
                effect=self.name,
            )
        return ModelEffectResult(value=value)

    async def _degrade_or_raise(self, error: Exception) -> ModelEffectResult:
        fallback = self._fallback
        if fallback is None or not is_dependency_failure(error):
            raise error
        value = fallback.value
        if self._fallback_handler is not None:
            value = await self._fallback_handler(error)
        self._stats.degraded += 1
        reason = sanitize_text(f"{type(error).__name__}: {error}")[:500]
        _log.warning("effect degraded to its fallback", effect=self.name, reason=reason)
        return ModelEffectResult(value=value, degraded=True, error=reason)
