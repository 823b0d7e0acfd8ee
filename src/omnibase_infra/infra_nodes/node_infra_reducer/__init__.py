"""REDUCER, YAML only: the infrastructure state of each service (see contract.yaml)."""
