"""Connect-time pinning: every resolved address is checked, the socket goes to the checked
address, TLS still verifies the certificate for the name. A resolver that answers differently
on each call (DNS rebinding) never reaches a forbidden address."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from quaywatch.integrations.url_policy import (
    check_host,
    check_notification_url,
    parse_registry_url,
    url_guard,
)
from quaywatch.outbound import AddressPolicy, BlockedAddressError, pinned_client
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.retry import RetryPolicy

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(("address", "private_allowed"), [
    ("127.0.0.1", True), ("::1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
    ("fd12:3456::1", True), ("169.254.10.1", True), ("fe80::1", True), ("100.64.0.1", True),
    ("::ffff:127.0.0.1", True), ("64:ff9b::7f00:1", True), ("2002:7f00:1::1", True), ("0.0.0.0", False),
    ("224.0.0.251", False), ("ff02::1", False), ("169.254.169.254", False), ("fd00:ec2::254", False),
    ("::ffff:169.254.169.254", False),
])
def test_internal_addresses_are_refused(address: str, private_allowed: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert AddressPolicy(allow_private=False).refusal(ip) is not None
    assert (AddressPolicy(allow_private=True).refusal(ip) is None) is private_allowed


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(BlockedAddressError, match="does not resolve"):
        check_host("no-such-host.invalid", allow_private=False)


def test_ipv6_hosts_keep_their_brackets() -> None:
    assert parse_registry_url("https://[::1]:443") == ("[::1]:443", False)
    with pytest.raises(BlockedAddressError, match="::1 is a loopback address"):
        check_host("[::1]:443", allow_private=False)


@pytest.mark.parametrize("url", ["https://q:99999", "https://[zz]", "http://[::1", "ftp://quay.io"])
def test_malformed_urls_are_usage_errors(url: str) -> None:
    from quaywatch.errors import UsageError

    with pytest.raises(UsageError):
        parse_registry_url(url)
    with pytest.raises(UsageError):
        check_notification_url(url, allow_private=False)


class Listener:
    """A loopback HTTP server that counts the connections it accepts."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        outer = self
        self.connections = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def get_request(self):
                connection, address = super().get_request()
                outer.connections += 1
                return (context.wrap_socket(connection, server_side=True) if context else connection), address

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def rebinding(monkeypatch, name: str, answers: list[str]) -> list[str]:
    """``name`` resolves to each of ``answers`` in turn (the last one from then on)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def resolve(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked


def test_rebinding_between_check_and_connect_never_reaches_loopback(monkeypatch, listener) -> None:
    asked = rebinding(monkeypatch, "rebind.example", [PUBLIC, "127.0.0.1"])
    check_host(f"rebind.example:{listener.port}", allow_private=False)  # the save-time check sees a public address
    with pinned_client(AddressPolicy(allow_private=False), timeout=2) as client, \
            pytest.raises(BlockedAddressError, match="127.0.0.1, which is a loopback address"):
        client.get(f"http://rebind.example:{listener.port}/v2/")
    assert asked == [PUBLIC, "127.0.0.1"] and listener.connections == 0


def test_registry_client_with_the_robot_credentials_is_pinned_too(monkeypatch, listener) -> None:
    rebinding(monkeypatch, "quay.rebind.example", [PUBLIC, "127.0.0.1"])
    client = RegistryClient(f"quay.rebind.example:{listener.port}", Credentials("acme+robot", "robot-secret"),
                            plain_http=True, retry=RetryPolicy.fast(), url_guard=url_guard(False),
                            policy=AddressPolicy(allow_private=False))
    with client, pytest.raises(BlockedAddressError):
        client.ping()
    assert listener.connections == 0


def test_one_forbidden_address_among_several_refuses_the_name(monkeypatch, listener) -> None:
    real = socket.getaddrinfo

    def both(host, port, *args, **kwargs):
        if host != "mixed.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with pinned_client(AddressPolicy(), timeout=2) as client, pytest.raises(BlockedAddressError):
        client.get(f"http://mixed.example:{listener.port}/")
    assert listener.connections == 0


def test_allowed_private_addresses_are_reached(listener) -> None:
    with pinned_client(AddressPolicy(allow_private=True), timeout=2) as client:
        assert client.get(f"http://127.0.0.1:{listener.port}/").text == "ok"
    assert listener.connections == 1


def _certificates(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A CA and a server certificate for ``name``: the server context and the CA file."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quaywatch test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    return context, tmp_path / "ca.pem"


def test_tls_verifies_the_name_while_connecting_to_the_pinned_address(monkeypatch, tmp_path) -> None:
    context, ca = _certificates(tmp_path, "registry.example")
    server = Listener(context)
    try:
        rebinding(monkeypatch, "registry.example", ["127.0.0.1"])
        trust = ssl.create_default_context(cafile=str(ca))
        with pinned_client(AddressPolicy(allow_private=True), trust, timeout=3) as client:
            assert client.get(f"https://registry.example:{server.port}/").text == "ok"
        rebinding(monkeypatch, "impostor.example", ["127.0.0.1"])  # the same server, a name its certificate lacks
        with pinned_client(AddressPolicy(allow_private=True), trust, timeout=3) as client, \
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|hostname"):
            client.get(f"https://impostor.example:{server.port}/")
    finally:
        server.close()
