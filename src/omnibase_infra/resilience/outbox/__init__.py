"""Transactional outbox: write messages with the state change, relay them to the bus."""

from omnibase_infra.resilience.outbox.relay import OutboxRelay
from omnibase_infra.resilience.outbox.writer import enqueue, enqueue_envelope

__all__ = ["OutboxRelay", "enqueue", "enqueue_envelope"]
