"""Contracts: discovery and loading, the handler import allowlist, and the static checks of
node packages and of the package's layers."""
