"""Registries (and Quay APIs) that misbehave on purpose: catalogs that never end or loop,
answers larger than anything real, Quay API pages that always say there is more. The real
registry cannot be made to do any of this; each stub is a few lines of what a hostile or
broken server sends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# path -> (query -> (status, headers, body))
Route = Callable[[dict[str, list[str]]], tuple[int, dict[str, str], bytes]]


def as_json(document: object, status: int = 200, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(document).encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that stops reading on purpose (the caps under test) is not an error here


class StubServer:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.requests.append(self.path)
                route = routes.get(parts.path)
                status, headers, body = route(parse_qs(parts.query)) if route else as_json(
                    {"errors": [{"code": "NAME_UNKNOWN", "message": "no such thing"}]}, 404)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: its right
                    pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.host}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if urlsplit(request).path == path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def endless_catalog(delay: float = 0.0, loop: bool = False) -> dict[str, Route]:
    """A registry whose catalog never ends: each page names one repository and links to the
    next after ``delay`` seconds; with ``loop``, the next page is always the same one."""

    def catalog(query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(delay)
        last = int(query.get("last", ["0"])[0])
        following = last if loop else last + 1
        return as_json({"repositories": [f"endless/r{last}"]},
                       headers={"Link": f'</v2/_catalog?n=100&last={following}>; rel="next"'})

    return {"/v2/": lambda _: as_json({}), "/v2/_catalog": catalog}
