"""The ingress: events from outside the process into the bus over HTTP (port 8083)."""
