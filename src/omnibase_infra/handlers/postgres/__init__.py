"""PostgreSQL: ``HandlerPostgres`` (pool, transactions, error translation), its settings, and
the embedded PostgreSQL server that the local profile and the tests start."""
