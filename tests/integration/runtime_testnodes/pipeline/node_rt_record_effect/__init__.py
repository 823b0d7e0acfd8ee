"""Test effect: record-job intent -> ProtocolRtSink."""
