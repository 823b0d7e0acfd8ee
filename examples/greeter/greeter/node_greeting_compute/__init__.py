"""COMPUTE: a name in, the greeting text out (pure)."""
