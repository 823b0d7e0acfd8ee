"""node_vault_adapter_effect: KV v2 read, write, list and delete on Vault/OpenBao by command.

Authentication (token or AppRole) and token renewal are the runtime's ``HandlerVault``'s; the
contract declares which actions and which path prefixes commands may use. See ``handler``.
"""
