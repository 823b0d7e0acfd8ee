"""node_registration_reducer (see contract.yaml)."""
