"""A TLS front with a certificate from a private CA, before the plain-HTTP test registry: what
a self-hosted Quay behind a company CA looks like to quaywatch. The CA and the certificate
(for 127.0.0.1) are made here with ``cryptography``; the front passes bytes both ways."""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme internal"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def private_ca() -> tuple[bytes, bytes, bytes]:
    """(CA certificate PEM, server certificate PEM for 127.0.0.1, server key PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Acme Root CA")).issuer_name(_name("Acme Root CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (x509.CertificateBuilder().subject_name(_name("quay.acme.internal")).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), certificate.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class TlsFront:
    """``https://127.0.0.1:PORT`` in front of ``backend`` (host:port), until ``close``."""

    def __init__(self, backend: str) -> None:
        self.ca_pem, certificate, key = private_ca()
        self._files = tempfile.TemporaryDirectory(prefix="quaywatch-tls-")
        cert_path, key_path = Path(self._files.name) / "server.pem", Path(self._files.name) / "server.key"
        cert_path.write_bytes(certificate)
        key_path.write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        host, port = backend.rsplit(":", 1)
        self.handshakes = 0  # connections that trusted the certificate
        front = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    secured = context.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # a client that does not trust the CA hangs up during the handshake
                front.handshakes += 1
                with secured, socket.create_connection((host, int(port))) as upstream:
                    _relay(secured, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Pipe)
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._files.cleanup()

    def __enter__(self) -> TlsFront:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _relay(left: socket.socket, right: socket.socket) -> None:
    sockets = [left, right]
    while True:
        ready, _, _ = select.select(sockets, [], [], 30)
        if not ready:
            return
        for source in ready:
            try:
                data = source.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                return
            if not data:
                return
            if isinstance(source, ssl.SSLSocket):
                while source.pending():  # decrypted bytes select() does not see
                    data += source.recv(source.pending())
            (right if source is left else left).sendall(data)
