"""The hub: its FastAPI app (health, readiness, metrics, mounted routers), its server and
the readiness checks."""
