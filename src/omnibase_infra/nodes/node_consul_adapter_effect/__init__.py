"""node_consul_adapter_effect: service registration, health, catalog and KV by command.

Works on the runtime's ``ProtocolServiceDiscovery`` (Consul in production, the local backend
in the local profile); queries may block (Consul's blocking queries). See ``handler``.
"""
