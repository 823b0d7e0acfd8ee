"""node_registry_effect (see contract.yaml)."""
