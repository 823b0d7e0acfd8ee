"""An effect under its contract's policy: the executor (timeout, retry, breaker, idempotency,
fallback), the retry policy, the effect metrics and the ``error_handling`` models. Import the
public names from ``omnibase_infra.resilience``."""
