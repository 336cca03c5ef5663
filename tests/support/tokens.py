"""A token server that behaves like Quay's ``/v2/auth`` (SPEC section 3).

Real enough for distribution's token auth: it signs RS256 JWTs carrying the ``x5c`` chain of a
self-signed certificate that the registry trusts. Quay quirks reproduced: no ``expires_in``
in the answer; 400 for ``registry:catalog:*``; a token for a repository the account may not
read is still issued (with no access in it); robot accounts are named ``org+name``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SERVICE = "quaywatch-test-registry"
ISSUER = "quaywatch-test-issuer"


@dataclass
class Account:
    password: str
    # repository glob -> actions ("pull", "push", "*")
    grants: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey
    certificate_pem: bytes
    certificate_der_b64: str

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quaywatch test token signer")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(
            private_key=key,
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM),
            certificate_der_b64=base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        )


class TokenServer:
    """Issues registry tokens; counts requests so tests can assert token reuse."""

    def __init__(self, key: SigningKey, public_repositories: set[str] | None = None) -> None:
        self.key = key
        self.accounts: dict[str, Account] = {}
        self.public_repositories = public_repositories or set()
        self.token_ttl = 3600
        # Trivy's registry library refuses loopback IP literals as realm (SSRF guard), but not
        # the name "localhost": the benchmark uses the name.
        self.realm_host = "127.0.0.1"
        self.requests: list[dict[str, str | None]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def realm(self) -> str:
        return f"http://{self.realm_host}:{self._server.server_address[1]}/v2/auth"

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def write_certificate(self, path: Path) -> Path:
        path.write_bytes(self.key.certificate_pem)
        return path

    def issue(self, subject: str, access: list[dict[str, object]], ttl: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + (ttl if ttl is not None else self.token_ttl),
            "nbf": now - 5,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "access": access,
        }
        return jwt.encode(
            claims, self.key.private_key, algorithm="RS256", headers={"x5c": [self.key.certificate_der_b64]}
        )

    def subject_of(self, token: str) -> str | None:
        """The account a token was issued to (verifying our own signature), None if invalid."""
        try:
            claims = jwt.decode(
                token, self.key.private_key.public_key(), algorithms=["RS256"], audience=SERVICE
            )
        except jwt.PyJWTError:
            return None
        return str(claims.get("sub") or "")

    def may(self, subject: str, repository: str, action: str) -> bool:
        if action == "pull" and repository in self.public_repositories:
            return True
        account = self.accounts.get(subject)
        if account is None:
            return False
        for pattern, actions in account.grants.items():
            if fnmatch(repository, pattern) and (action in actions or "*" in actions):
                return True
        return False

    def _grant(self, subject: str, scope: str) -> list[dict[str, object]]:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return []
        allowed = [a for a in actions.split(",") if self.may(subject, name, a)]
        return [{"type": "repository", "name": name, "actions": allowed}] if allowed else []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/v2/auth":
                    self._reply(404, {"error": "not found"})
                    return
                query = parse_qs(parts.query)
                scopes = query.get("scope", [])
                header = self.headers.get("Authorization", "")
                user = None
                with server._lock:
                    server.requests.append({"scope": " ".join(scopes) or None, "auth": header.split(" ")[0] or None})
                if header.startswith("Basic "):
                    try:
                        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    except ValueError:
                        self._reply(400, {"error": "malformed credentials"})
                        return
                    account = server.accounts.get(user)
                    if account is None or account.password != password:
                        self._reply(401, {"error": "Invalid username or password"})
                        return
                if any(s.startswith("registry:catalog") for s in scopes):
                    self._reply(400, {"error": "Unable to decode repository and actions: registry:catalog:*"})
                    return
                subject = user or "$anonymous"
                access: list[dict[str, object]] = []
                for scope in scopes:
                    access.extend(server._grant(subject, scope))
                self._reply(200, {"token": server.issue(subject, access)})

        return Handler
