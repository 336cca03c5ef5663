"""A front for the real registry that adds what only Quay does, and injects faults.

Everything under ``/v2/`` is forwarded to the real docker-registry (which validates the
tokens itself), except:

- ``/v2/_catalog`` answers like Quay: 200 with an empty list without a token; with a token
  asked with no scope, the repositories its account may pull, in pages of at most ``n``
  (<= 100) with an opaque ``next_page`` cursor in ``Link``;
- optional Basic-auth mode, for "plain Basic-auth registries";
- fault injection: N answers of a status for matching paths (429 / 5xx), blob downloads
  redirected to a separate blob host (which records the headers it receives), tampered
  manifests.

This is the only simulated part of the registry tests; it exists because Quay itself cannot
run here. Each behaviour is taken from Quay's code and docs (SPEC section 3).
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.simulated_registry import QUAY_ZONES
from tests.support.tokens import TokenServer

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that reset or time out on purpose (fault tests) are not errors of the front


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int


@dataclass
class FrontStats:
    requests: list[tuple[str, str]] = field(default_factory=list)
    limited: int = 0  # answered 429 by the rate limits (``limit_like_quay``)
    blob_host_auth_headers: list[str | None] = field(default_factory=list)

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for _, path in self.requests if regex.search(path))


class QuayFront:
    def __init__(self, upstream: str, tokens: TokenServer, port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.tokens = tokens
        self.basic_users: dict[str, str] | None = None
        # Quay REST API (/api/v1) OAuth application tokens -> the account they act for.
        self.oauth_tokens: dict[str, str] = {}
        self.redirect_blobs = False
        self.tamper_manifests = False
        self.tamper_blobs = False
        self.faults: list[Fault] = []
        self.fault_ratio = 0.0
        self.stats = FrontStats()
        self.rate_limits: dict[str, tuple[float, int]] | None = None  # zone -> (requests/s, burst)
        self._excess: dict[str, tuple[float, float]] = {}  # zone -> (excess, at)
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._blob_server = ThreadingHTTPServer(("127.0.0.1", 0), self._blob_handler())
        self._blob_server.daemon_threads = True

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def blob_host(self) -> str:
        return f"127.0.0.1:{self._blob_server.server_address[1]}"

    def start(self) -> QuayFront:
        for server in (self._server, self._blob_server):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in (self._server, self._blob_server):
            server.shutdown()
            server.server_close()
        self._http.close()

    def reset(self) -> None:
        with self._lock:
            self.basic_users = None
            self.oauth_tokens = {}
            self.redirect_blobs = False
            self.tamper_manifests = False
            self.tamper_blobs = False
            self.faults = []
            self.fault_ratio = 0.0
            self.stats = FrontStats()
            self.rate_limits = None

    def inject(self, pattern: str, status: int, times: int) -> None:
        with self._lock:
            self.faults.append(Fault(re.compile(pattern), status, times))

    def random_faults(self, ratio: float, seed: int = 1, stall_seconds: float = 1.5) -> None:
        """From now on, each request under /v2/ fails with probability ``ratio``, by turns a 429
        without Retry-After, a 503, a connection reset, or a stall of ``stall_seconds`` that
        ends in a reset (0: off)."""
        with self._lock:
            self.fault_ratio = ratio
            self._random = random.Random(seed)
            self.stall_seconds = stall_seconds
            self.injected: dict[str, int] = {"429": 0, "503": 0, "reset": 0, "stall": 0}

    def upstream_catalog(self) -> list[str]:
        """Every repository of the registry behind (its own pages followed)."""
        names: list[str] = []
        last = None
        while True:
            query = {"n": 1000, **({"last": last} if last else {})}
            page = self._http.get(f"{self.upstream}/v2/_catalog?{urlencode(query)}",
                                  headers={"Authorization": f"Bearer {self._upstream_token(None)}"}).json()
            found = page.get("repositories") or []
            names += found
            if len(found) < 1000:
                return names
            last = found[-1]

    def limit_like_quay(self, scale: float = 1.0) -> None:
        """From now on, answer like quay.io's nginx ``limit_req`` (quay/quay
        conf/nginx/server-base.conf.jnj, per client address; all of ours are 127.0.0.1): a 429
        without Retry-After beyond the zone's rate (times ``scale``) and burst."""
        with self._lock:
            self.rate_limits = {zone: (rate * scale, burst) for zone, (rate, burst) in QUAY_ZONES.items()}
            self._excess = {}

    def _limited(self, path: str) -> bool:
        """nginx's leaky bucket: ``excess`` drains at the zone's rate; a request that would
        take it past the burst is refused and leaves it as it was."""
        if self.rate_limits is None:
            return False
        zone = ("catalog" if path.startswith(("/v2/_catalog", "/api/")) else "tags" if "/tags/list" in path
                else "content" if "/manifests/" in path or "/blobs/" in path else "other")
        rate, burst = self.rate_limits[zone]
        with self._lock:
            excess, at = self._excess.get(zone, (0.0, 0.0))
            now = time.monotonic()
            excess = max(0.0, excess - (now - at) * rate) + 1
            if excess > burst + 1:
                self.stats.limited += 1
                return True
            self._excess[zone] = (excess, now)
        return False

    def _take_fault(self, path: str) -> int | str | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.pattern.search(path):
                    fault.remaining -= 1
                    return fault.status
            if self.fault_ratio and path.startswith("/v2/") and self._random.random() < self.fault_ratio:
                kind = self._random.choice(("429", "503", "reset", "stall"))
                self.injected[kind] += 1
                return int(kind) if kind.isdigit() else kind
        return None

    def _upstream_token(self, scope_repo: str | None) -> str:
        access: list[dict[str, object]] = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
        if scope_repo:
            access.append({"type": "repository", "name": scope_repo, "actions": ["pull"]})
        return self.tokens.issue("$front", access)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, status: int, document: object, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})})

            def do_GET(self) -> None:
                self._dispatch()

            def do_HEAD(self) -> None:
                self._dispatch()

            def _dispatch(self) -> None:
                path = urlsplit(self.path).path
                with front._lock:
                    front.stats.requests.append((self.command, self.path))
                status = front._take_fault(path)
                if status in ("reset", "stall"):
                    if status == "stall":
                        time.sleep(front.stall_seconds)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
                    return
                if status is not None:
                    self._json(status, {"errors": [{"code": "INJECTED", "message": f"injected {status}"}]})
                    return
                if front._limited(path):  # as quay.io: no Retry-After
                    self._json(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]})
                    return
                auth = self.headers.get("Authorization")
                if path.startswith("/api/v1/repository/") and path.endswith("/tag/"):
                    self._api_tags(path, auth)
                    return
                if front.basic_users is not None:
                    if not self._basic_ok(auth):
                        self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                                   {"WWW-Authenticate": 'Basic realm="quaywatch-test"'})
                        return
                    repo = _repository_of(path)
                    auth = f"Bearer {front._upstream_token(repo)}"
                if path == "/v2/_catalog":
                    self._catalog(auth)
                    return
                if path.endswith("/tags/list"):
                    self._tags(auth)
                    return
                if front.redirect_blobs and "/blobs/sha256:" in path:
                    if not auth:
                        self._forward(auth)  # let the registry send its challenge
                        return
                    digest = path.rsplit("/", 1)[1]
                    repo = _repository_of(path)
                    location = f"http://{front.blob_host}/storage/{repo}/{digest}?sig=opaque"
                    self._send(302, b"", {"Location": location})
                    return
                self._forward(auth)

            def _api_tags(self, path: str, auth: str | None) -> None:
                """Quay's ``GET /api/v1/repository/{repo}/tag/`` (endpoints/api/tag.py): pages of
                ``limit`` (max 100) with ``has_additional``; digests and push times included."""
                subject = front.oauth_tokens.get((auth or "").removeprefix("Bearer ").strip())
                repo = path[len("/api/v1/repository/"):-len("/tag/")]
                if subject is None:
                    self._json(401, {"error": "invalid_token", "error_message": "requires a valid OAuth token"})
                    return
                if not front.tokens.may(subject, repo, "pull"):
                    self._json(403, {"error_message": "Unauthorized", "error_type": "insufficient_scope"})
                    return
                bearer = {"Authorization": f"Bearer {front._upstream_token(repo)}"}
                listed = front._http.get(f"{front.upstream}/v2/{repo}/tags/list", headers=bearer)
                if listed.status_code != 200:
                    self._json(404, {"error_message": "Not Found"})
                    return
                query = parse_qs(urlsplit(self.path).query)
                limit = min(100, max(1, int(query.get("limit", ["50"])[0])))
                page = max(1, int(query.get("page", ["1"])[0]))
                names = sorted(listed.json().get("tags") or [])
                chosen = names[(page - 1) * limit : page * limit]
                accept = ", ".join(("application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                                    "application/vnd.docker.distribution.manifest.list.v2+json",
                                    "application/vnd.docker.distribution.manifest.v2+json"))
                tags = []
                for name in chosen:
                    head = front._http.head(f"{front.upstream}/v2/{repo}/manifests/{name}",
                                            headers={**bearer, "Accept": accept})
                    tags.append({"name": name, "reversion": False, "start_ts": 1732780800,
                                 "manifest_digest": head.headers.get("Docker-Content-Digest"),
                                 "is_manifest_list": "index" in head.headers.get("Content-Type", "")
                                 or "list" in head.headers.get("Content-Type", ""),
                                 "size": None, "last_modified": "Thu, 28 Nov 2024 08:00:00 -0000"})
                self._json(200, {"tags": tags, "page": page, "has_additional": page * limit < len(names)})

            def _basic_ok(self, header: str | None) -> bool:
                if not header or not header.startswith("Basic "):
                    return False
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                assert front.basic_users is not None
                return front.basic_users.get(user) == password

            def _catalog(self, auth: str | None) -> None:
                if not auth:
                    self._json(200, {"repositories": []})
                    return
                subject = front.tokens.subject_of(auth.split(" ", 1)[1]) if auth.startswith("Bearer ") else None
                if subject is None:
                    self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad token"}]})
                    return
                repositories = [r for r in front.upstream_catalog()
                                if subject == "$front" or front.tokens.may(subject, r, "pull")]
                query = parse_qs(urlsplit(self.path).query)
                size = min(100, int(query.get("n", ["100"])[0]))
                start = 0
                if "next_page" in query:
                    start = int(base64.urlsafe_b64decode(query["next_page"][0]).decode().split(":")[1])
                page = repositories[start : start + size]
                headers = {}
                if start + size < len(repositories):
                    cursor = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
                    headers["Link"] = f'</v2/_catalog?{urlencode({"n": size, "next_page": cursor})}>; rel="next"'
                self._json(200, {"repositories": page}, headers)

            def _tags(self, auth: str | None) -> None:
                """Quay pages tags/list (the registry 2.8 here does not): ``n`` and ``last``."""
                path = urlsplit(self.path).path
                headers = {"Authorization": auth} if auth else {}
                upstream = front._http.get(front.upstream + path, headers=headers)
                if upstream.status_code != 200:
                    out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
                    self._send(upstream.status_code, upstream.content, out)
                    return
                document = upstream.json()
                tags = sorted(document.get("tags") or [])
                query = parse_qs(urlsplit(self.path).query)
                size = min(100, int(query.get("n", ["100"])[0]))
                last = query.get("last", [None])[0]
                remaining = [t for t in tags if last is None or t > last]
                page = remaining[:size]
                link = {}
                if len(remaining) > size:
                    link["Link"] = f'<{path}?{urlencode({"n": size, "last": page[-1]})}>; rel="next"'
                self._json(200, {"name": document.get("name"), "tags": page}, link)

            def _forward(self, auth: str | None) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS and k.lower() != "authorization"}
                if auth:
                    headers["Authorization"] = auth
                request = front._http.build_request(self.command, front.upstream + self.path, headers=headers)
                response = front._http.send(request, stream=True)
                try:
                    body = response.read()
                    if front.tamper_manifests and "/manifests/" in self.path and response.status_code == 200:
                        body = body.replace(b'"schemaVersion": 2', b'"schemaVersion":2 ', 1) if b'"schemaVersion": 2' in body else body + b" "
                    if front.tamper_blobs and "/blobs/" in self.path and response.status_code == 200 and body:
                        body = bytes([body[0] ^ 0xFF]) + body[1:]
                    out = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
                    self._send(response.status_code, body, out)
                finally:
                    response.close()

        return Handler

    def _blob_handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class BlobHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with front._lock:
                    front.stats.blob_host_auth_headers.append(self.headers.get("Authorization"))
                match = re.match(r"^/storage/(.+)/(sha256:[0-9a-f]+)", urlsplit(self.path).path)
                if not match:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                repo, digest = match.groups()
                with front._http.stream(
                    "GET", f"{front.upstream}/v2/{repo}/blobs/{digest}",
                    headers={"Authorization": f"Bearer {front._upstream_token(repo)}"},
                ) as response:
                    self.send_response(response.status_code)
                    self.send_header("Content-Length", response.headers.get("Content-Length", "0"))
                    self.end_headers()
                    for chunk in response.iter_raw(1 << 20):
                        self.wfile.write(chunk)

        return BlobHandler


def _repository_of(path: str) -> str | None:
    match = re.match(r"^/v2/(.+?)/(?:manifests|blobs|tags)/", path)
    return match.group(1) if match else None
