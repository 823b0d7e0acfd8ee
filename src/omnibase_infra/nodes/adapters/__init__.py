"""What the adapter nodes share: how a handler's failure becomes a failure event or a retry."""
