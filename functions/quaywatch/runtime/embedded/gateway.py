"""The local API Gateway: HTTP requests -> the REST proxy events of the template's routes.

Also serves the web console's static files (``/`` and ``/console/...``) and the embedded-only
``POST /_embedded/schedules/{name}`` (admins) that fires a schedule now.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from quaywatch.observability import logger
from quaywatch.runtime.embedded.functions import Functions
from quaywatch.runtime.events import api_gateway_event
from quaywatch.runtime.template import Template

CONSOLE = Path(__file__).resolve().parents[2] / "console"
MAX_BODY = 4 << 20


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
                 run_schedule: Callable[[str, str | None], Any]) -> ThreadingHTTPServer:
    routes = Routes(template)

    class Handler(BaseHTTPRequestHandler):
        server_version = "quaywatch"
        protocol_version = "HTTP/1.1"

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

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, {"error": {"code": "too_large", "message": "request body too large"}})
                return
            body = self.rfile.read(length).decode("utf-8", "replace") if length else None
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
            headers.setdefault("X-Forwarded-Proto", "http")
            event = api_gateway_event(method, parts.path, resource, parameters, headers, query, body, "$default",
                                      self.headers.get("Host", f"{host}:{port}"), self.client_address[0])
            try:
                result = functions.invoke(function, event)
            except Exception as exc:  # noqa: BLE001 - a handler bug is a 500, not a dead server
                logger.exception("handler failed", extra={"function": function})
                self._reply(500, {"error": {"code": "internal", "message": type(exc).__name__}})
                return
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
            self._send(200, target.read_bytes(), {"Content-Type": kind, "Cache-Control": "no-cache"})

        def _reply(self, status: int, body: Any) -> None:
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return ThreadingHTTPServer((host, port), Handler)
