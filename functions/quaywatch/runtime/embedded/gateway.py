"""The local API Gateway: HTTP requests -> the REST proxy events of the template's routes.

Also serves the web console's static files (``/`` and ``/console/...``), the embedded-only
``POST /_embedded/schedules/{name}`` that fires a schedule now and ``GET /metrics`` (both for
the operator: the server's own admin token).
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from quaywatch.observability import logger
from quaywatch.runtime.embedded.functions import FunctionBusy, Functions
from quaywatch.runtime.events import api_gateway_event
from quaywatch.runtime.template import Template

CONSOLE = Path(__file__).resolve().parents[2] / "console"
MAX_BODY = 4 << 20  # the handlers refuse more than 256 KiB (a Dockerfile: 1.5 MiB) themselves; this bounds the read
READ_TIMEOUT_SECONDS = 30
MAX_CONNECTIONS = 512  # client connections served at once (QUAYWATCH_MAX_CONNECTIONS)
LISTEN_BACKLOG = 128  # the standard library's 5 made back-to-back clients wait a second for a SYN retry
# On every answer. The console loads only its own files (no inline script or style, no
# framing by another site); API answers are never cached (some carry secrets: new tokens,
# channel URLs) and never rendered as a page.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CONSOLE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


class _Server(ThreadingHTTPServer):
    """A thread per client connection, as the standard library's, but at most
    ``max_connections`` at once: idle keep-alive connections (each holds a thread for up to
    READ_TIMEOUT_SECONDS) cannot exhaust the process; one more is told 503 and closed."""

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            body = b'{"error": {"code": "busy", "message": "too many connections; try again"}}'
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n" + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class Routes:
    def __init__(self, template: Template) -> None:
        self._routes: list[tuple[str, re.Pattern, str, str]] = []
        for name, function in template.functions().items():
            for event in function["Properties"].get("Events", {}).values():
                if event["Type"] == "Api":
                    path = event["Properties"]["Path"]
                    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
                    self._routes.append((event["Properties"]["Method"].upper(), pattern, path, name))

    def match(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None | bool:
        """(function, resource, path parameters); False if the path exists for another method."""
        other_method = False
        for route_method, pattern, resource, function in self._routes:
            found = pattern.match(path)
            if found:
                if route_method == method:
                    return function, resource, found.groupdict()
                other_method = True
        return False if other_method else None


def make_gateway(host: str, port: int, template: Template, functions: Functions,
                 run_schedule: Callable[[str, str | None], Any],
                 public_host: Callable[[], str],
                 metrics_text: Callable[[str | None], tuple[int, Any]] | None = None) -> ThreadingHTTPServer:
    """``public_host``: the host (and port) of the configured public URL, given to the handlers
    as API Gateway's domain name; the request's own Host header is never used for it."""
    routes = Routes(template)

    class Handler(BaseHTTPRequestHandler):
        server_version = "quaywatch"  # and nothing of the Python version (version_string below)
        protocol_version = "HTTP/1.1"
        default_request_version = "HTTP/1.1"  # a garbled request line still gets a status line back
        timeout = READ_TIMEOUT_SECONDS  # a client that stops sending does not hold a thread

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def log_message(self, *args: object) -> None:
            pass

        def version_string(self) -> str:
            return self.server_version

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """The standard library's own refusals (unknown method, bad request line, headers
            too long) as our JSON errors; an unknown method is a 405, not a 501."""
            if code == 501:
                code, message = 405, f"method {self.command} is not allowed"
            self.close_connection = True
            try:
                self._reply(code, {"error": {"code": "bad_request" if code == 400 else "method_not_allowed"
                                             if code == 405 else "refused", "message": message or "refused"}})
            except OSError:
                pass

        def _handle(self, method: str) -> None:
            try:
                self._route(method)
            except (TimeoutError, ConnectionError):
                self.close_connection = True  # the client went away or stalled: nothing to answer
            except FunctionBusy as exc:  # as Lambda throttles: try again shortly
                self._send(503, json.dumps({"error": {"code": "busy", "message": f"{exc}; try again"}}).encode(),
                           {"Content-Type": "application/json", "Retry-After": "1"})
            except Exception:  # noqa: BLE001 - a fault of ours: a 500 with an id, never a trace or a type
                error_id = uuid.uuid4().hex
                logger.exception("gateway failed", extra={"error_id": error_id, "path": self.path[:200]})
                self._reply(500, {"error": {"code": "internal", "message": f"internal error (error id {error_id})"}})

        def _body(self) -> str | None | tuple[int, str, str]:
            """The request body, or (status, code, message) when its framing is refused."""
            if self.headers.get("Transfer-Encoding"):
                return 411, "length_required", "send the body with a Content-Length, not chunked"
            lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
            if len(lengths) > 1:  # which one frames the body? (a request-smuggling classic)
                return 400, "bad_request", "the request has conflicting Content-Length headers"
            declared = lengths.pop() if lengths else None
            if declared is None or declared == "":
                return None
            if not declared.isdigit():
                return 400, "bad_request", "Content-Length must be a non-negative integer"
            length = int(declared)
            if length > MAX_BODY:
                return 413, "too_large", "request body too large"
            data = self.rfile.read(length) if length else b""
            if len(data) < length:
                return 400, "bad_request", "the body is shorter than its Content-Length"
            try:
                return data.decode("utf-8") if data else None
            except UnicodeDecodeError:
                return 400, "bad_request", "the body is not UTF-8 text"

        def _route(self, method: str) -> None:
            if any(ord(char) < 0x20 or ord(char) == 0x7F for char in self.path):
                self.close_connection = True
                self._reply(400, {"error": {"code": "bad_request", "message": "the path holds control characters"}})
                return
            parts = urlsplit(self.path)
            body = self._body()
            if isinstance(body, tuple):
                self.close_connection = True
                self._reply(body[0], {"error": {"code": body[1], "message": body[2]}})
                return
            if method == "GET" and parts.path == "/metrics" and metrics_text is not None:
                status, answer = metrics_text(self.headers.get("Authorization"))
                if isinstance(answer, str):
                    self._send(status, answer.encode(), {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
                else:
                    self._reply(status, answer)
                return
            if method == "POST" and parts.path.startswith("/_embedded/schedules/"):
                name = parts.path.rsplit("/", 1)[1]
                status, result = run_schedule(name, self.headers.get("Authorization"))
                self._reply(status, result)
                return
            matched = routes.match(method, parts.path)
            if matched is None and method == "GET":
                self._static(parts.path)
                return
            if not matched:
                status = 405 if matched is False else 404
                self._reply(status, {"error": {"code": "not_found" if status == 404 else "method_not_allowed",
                                               "message": f"no route {method} {parts.path}"}})
                return
            function, resource, parameters = matched
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            headers = {k: v for k, v in self.headers.items()}
            event = api_gateway_event(method, parts.path, resource, parameters, headers, query, body, "$default",
                                      public_host(), self.client_address[0])
            result = functions.invoke(function, event)
            headers_out = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
            headers_out.update(result.get("headers") or {})
            self._send(result["statusCode"], (result.get("body") or "").encode(), headers_out)

        def _static(self, path: str) -> None:
            relative = "index.html" if path in ("/", "") else path.lstrip("/").removeprefix("console/")
            target = (CONSOLE / relative).resolve()
            if CONSOLE.resolve() not in target.parents or not target.is_file():
                target = CONSOLE / "index.html"  # client-side routes
                if not target.is_file():
                    self._reply(404, {"error": {"code": "not_found", "message": path}})
                    return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, target.read_bytes(), {"Content-Type": kind, "Cache-Control": "no-cache",
                                                  "Content-Security-Policy": CONSOLE_POLICY})

        def _reply(self, status: int, body: Any) -> None:
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            given = {name.lower() for name in headers}
            defaults = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Content-Security-Policy": API_POLICY}
            for name, value in [*headers.items(), *((n, v) for n, v in defaults.items() if n.lower() not in given)]:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

    return _Server((host, port), Handler, int(os.environ.get("QUAYWATCH_MAX_CONNECTIONS", MAX_CONNECTIONS)))
