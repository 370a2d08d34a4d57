"""A real local HTTP server that receives POSTs (receipt callbacks) for tests.

``http_sink()`` serves on 127.0.0.1 in a thread; each POST is kept as a
:class:`Posted` and answered with the next status of ``replies`` (200 once they run out).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Posted:
    """One POST received: its path, headers (lower-case names) and JSON body."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpSink:
    """The running server: its URL, what it received, what it will answer next."""

    port: int
    received: list[Posted] = field(default_factory=list)
    replies: list[int] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/receipts") -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, count: int, timeout: float = 20.0) -> list[Posted]:
        """What was received once ``count`` POSTs have arrived (AssertionError after
        ``timeout`` seconds)."""
        while len(self.received) < count:
            self.arrived.clear()
            if len(self.received) >= count:
                break
            assert self.arrived.wait(timeout), f"{len(self.received)} of {count} POSTs arrived"
        return list(self.received)


@contextmanager
def http_sink() -> Iterator[HttpSink]:
    """Serve until the block exits."""
    sink: HttpSink

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            status = sink.replies.pop(0) if sink.replies else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            headers = {k.lower(): v for k, v in self.headers.items()}
            sink.received.append(Posted(self.path, headers, body))
            sink.arrived.set()

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the test reads what arrived

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink = HttpSink(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
