"""A local HTTP server for advisory feeds, with ETag / 304 like OSV's bucket and secdb; it
also records JSON POSTs (a notification channel's receiving end)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FeedServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.routes: dict[str, Callable[[dict[str, str]], bytes]] = {}  # path -> answer built from the query
        self.requests: list[tuple[str, int]] = []
        self.request_headers: list[dict[str, str]] = []  # per GET, names in lower case
        self.posted: list[tuple[str, dict]] = []
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.request_headers.append({name.lower(): value for name, value in self.headers.items()})
                path, _, query = self.path.partition("?")
                route = server.routes.get(path)
                body = route(dict(parse_qsl(query))) if route else server.files.get(self.path)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"' if body is not None else None
                status = 404 if body is None else 304 if self.headers.get("If-None-Match") == etag else 200
                # recorded before answering: a client may go on (and a test look) as soon as it has the answer
                server.requests.append((self.path, status))
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if status == 200:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.posted.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[FeedServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
