"""What onex-infra dlq runs: the DLQ topic reader, idempotent replay, the replay audit store
(PostgreSQL), their models and the command's config.
"""
