"""A real HTTP server on 127.0.0.1 for the fake vendors: every request goes to one callback.

The fakes (channels, accounting targets) differ in what they answer, not in how they listen;
this is the listening part: keep-alive like the vendors, Nagle off (headers and body go in two
writes: no 40 ms stall), quiet logs, a daemon thread polling shutdown every 50 ms.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Serve = Callable[[BaseHTTPRequestHandler, str], None]


def start_server(serve: Serve) -> tuple[ThreadingHTTPServer, str]:
    """Listen on a free port; returns the server (to ``stop_server``) and its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # http.server's naming
            serve(self, "GET")

        def do_POST(self) -> None:
            serve(self, "POST")

        def do_PUT(self) -> None:
            serve(self, "PUT")

        def do_PATCH(self) -> None:
            serve(self, "PATCH")

        def do_DELETE(self) -> None:
            serve(self, "DELETE")

        def log_message(self, *_: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stop_server(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


class LocalServer(ABC):
    """Start/stop and ``with`` for a fake whose ``_serve`` answers every request."""

    _server: ThreadingHTTPServer | None = None
    url = ""

    @abstractmethod
    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        """Answer one request (the fake's vendor rules live here)."""

    def start(self) -> str:
        self._server, self.url = start_server(self._serve)
        return self.url

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
