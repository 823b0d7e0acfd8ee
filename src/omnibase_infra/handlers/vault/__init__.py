"""Vault (OpenBao speaks the same API): HandlerVault (KV v2 secrets, token renewal), its wire
helpers, token lease and settings.
"""
