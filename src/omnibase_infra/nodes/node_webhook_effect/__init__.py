"""node_webhook_effect: signed webhook deliveries (Standard Webhooks) to contract-named
endpoints, retried under the contract's policy, one circuit breaker per endpoint."""
