"""Test compute: squares a start-job command's value."""
