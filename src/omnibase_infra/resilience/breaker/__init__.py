"""The circuit breaker: one rule set (``rules``), the documented mixin (``mixin``), the
standalone breaker with its public API (``breaker``), the failure-rate window and the snapshot
model. Import the public names from ``omnibase_infra.resilience``."""
