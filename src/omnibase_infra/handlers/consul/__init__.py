"""Consul: HandlerConsul (ProtocolServiceDiscovery over Consul's HTTP API), its HTTP client, wire
format and settings.
"""
