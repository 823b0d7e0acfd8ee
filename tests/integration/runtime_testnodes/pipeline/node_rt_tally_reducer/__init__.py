"""Test reducer: job-started event -> record-job intent."""
