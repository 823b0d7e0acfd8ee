"""omnibase_infra: the ONEX infrastructure runtime.

Event bus (in-memory and Kafka), message dispatch, the runtime host, handlers for PostgreSQL,
Kafka, Consul, Vault, Valkey, HTTP and Keycloak, resilience, observability, and the
infrastructure nodes, with two-way node registration as the flagship.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
