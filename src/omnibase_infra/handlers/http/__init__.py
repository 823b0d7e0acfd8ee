"""Outbound HTTP: HandlerHttp (requests, signed webhooks, redirects it follows itself), its client
settings and models.
"""
