"""A test effect; see contract.yaml."""
