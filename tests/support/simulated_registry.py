"""A registry simulated in memory for the sync benchmark: as many repositories and tags as
asked without pushing a byte, answering what a sync asks (the ``/v2/`` ping, the catalog in
``Link`` pages, ``tags/list``, HEAD of manifests) and limited like quay.io (nginx
``limit_req`` per zone, 429 without Retry-After), its rates multiplied by ``scale``.

Not a registry to test the protocol against (tests/support/stack.py runs the real one): it
exists because pushing 50,000 images to docker-registry takes longer than the benchmark."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

QUAY_ZONES = {"catalog": (5.0, 1), "tags": (5.0, 2), "content": (50.0, 10), "other": (60.0, 20)}


class NginxLimits:
    """nginx's leaky bucket per zone: ``excess`` drains at the rate; a request that would
    take it past the burst is refused and leaves it as it was."""

    def __init__(self, zones: dict[str, tuple[float, int]], scale: float = 1.0) -> None:
        self.zones = {zone: (rate * scale, burst) for zone, (rate, burst) in zones.items()}
        self.excess: dict[str, tuple[float, float]] = {}
        self.limited = 0
        self.requests = 0
        self.by_zone: dict[str, int] = dict.fromkeys(zones, 0)
        self._lock = threading.Lock()

    def refuse(self, path: str) -> bool:
        zone = ("catalog" if path.startswith(("/v2/_catalog", "/api/")) else "tags" if "/tags/list" in path
                else "content" if "/manifests/" in path or "/blobs/" in path else "other")
        rate, burst = self.zones[zone]
        with self._lock:
            self.requests += 1
            self.by_zone[zone] += 1
            excess, at = self.excess.get(zone, (0.0, 0.0))
            now = time.monotonic()
            excess = max(0.0, excess - (now - at) * rate) + 1
            if excess > burst + 1:
                self.limited += 1
                return True
            self.excess[zone] = (excess, now)
        return False


class SimulatedRegistry:
    def __init__(self, repositories: int, tags: int, scale: float = 1.0) -> None:
        self.names = [f"acme/service-{n:05d}" for n in range(repositories)]
        self.tags = [f"1.{n}" for n in range(tags)]
        self.limits = NginxLimits(QUAY_ZONES, scale)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SimulatedRegistry:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def floor_seconds(self) -> float:
        """The least time a sync can take within the limits: each zone's requests at its
        rate (zones run side by side), the slowest zone deciding."""
        pages = -(-len(self.names) // 100)
        needed = {"catalog": pages, "tags": len(self.names), "content": len(self.names) * len(self.tags)}
        return max(count / self.limits.zones[zone][0] for zone, count in needed.items())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._dispatch()

            def do_HEAD(self) -> None:
                self._dispatch()

            def _send(self, status: int, document: object | None = None, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(document).encode() if document is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _dispatch(self) -> None:
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                if registry.limits.refuse(path):
                    self._send(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]})
                    return
                if path == "/v2/":
                    self._send(200, {})
                elif path == "/v2/_catalog":
                    size = min(100, int(query.get("n", ["100"])[0]))
                    start = int(query.get("next_page", ["0"])[0])
                    page = registry.names[start : start + size]
                    link = {}
                    if start + size < len(registry.names):
                        link["Link"] = f'</v2/_catalog?{urlencode({"n": size, "next_page": start + size})}>; rel="next"'
                    self._send(200, {"repositories": page}, link)
                elif path.endswith("/tags/list"):
                    self._send(200, {"name": path[4:-10], "tags": registry.tags})
                elif "/manifests/" in path:
                    digest = "sha256:" + hashlib.sha256(path.encode()).hexdigest()
                    self._send(200, None if self.command == "HEAD" else {}, {"Docker-Content-Digest": digest})
                else:
                    self._send(404, {"errors": [{"code": "NAME_UNKNOWN", "message": path}]})

        return Handler
