"""Valkey (or Redis): HandlerValkey (get/set with TTL, delete, incr, a simple distributed lock),
its settings and lock model."""
