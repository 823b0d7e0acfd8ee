"""librdkafka's own log lines, routed into the package's sanitised structured log.

Without this the client writes to stderr directly, bypassing the sanitiser; with it, every line
goes through ``observability.logging`` (masking registered secrets) and nothing else.
"""

from __future__ import annotations

import logging

from omnibase_infra.observability.logging import get_logger

__all__ = ["client_logger"]

_log = get_logger("omnibase_infra.kafka.client")


class _StructlogHandler(logging.Handler):
    """Forwards stdlib records from the Kafka client to structlog (sanitised there)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            _log.error("kafka client", detail=message, logger=record.name)
        elif record.levelno >= logging.WARNING:
            _log.warning("kafka client", detail=message, logger=record.name)
        else:
            _log.debug("kafka client", detail=message, logger=record.name)


def client_logger(logger: logging.Logger) -> logging.Logger:
    """Return ``logger`` wired to the structured log only (idempotent)."""
    if not any(isinstance(h, _StructlogHandler) for h in logger.handlers):
        logger.addHandler(_StructlogHandler())
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger
