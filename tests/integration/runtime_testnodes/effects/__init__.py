"""Effects for the resilience tests: a Vault read (credential refresh), a Valkey cache read
falling back to a PostgreSQL read (handler fallback), a two-step transfer (compensation)."""
