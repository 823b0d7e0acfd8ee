"""A minimal OTLP/HTTP traces receiver for tests: it keeps what runtimes export to it.

It accepts ``POST /v1/traces`` (protobuf ``ExportTraceServiceRequest``, as the OTLP/HTTP
exporter sends it) on a free port of 127.0.0.1 and records each span's trace id, name and
attributes, so a test can follow one trace across processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span: hex trace id, name, service and string attributes."""

    trace_id: str
    name: str
    service: str
    attributes: dict[str, str]


class OtlpReceiver:
    """Collects exported spans in memory; ``url`` is the traces endpoint to configure."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.add(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test prints what it needs

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The OTLP/HTTP traces endpoint."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def start(self) -> OtlpReceiver:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def add(self, request: ExportTraceServiceRequest) -> None:
        """Record every span of an export request."""
        received: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: str(a.value.string_value) for a in span.attributes}
                    received.append(
                        ReceivedSpan(span.trace_id.hex(), span.name, service, attributes)
                    )
        with self._lock:
            self.spans.extend(received)

    def in_trace(self, trace_id: str) -> list[ReceivedSpan]:
        """The spans received so far for one trace (hex id)."""
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]
