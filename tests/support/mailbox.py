"""A real SMTP server for the mail tests (aiosmtpd, on 127.0.0.1): it takes what quaywatch
sends and keeps each delivered message, parsed, for the test to read. With ``tls`` it offers
STARTTLS under a certificate from a CA made for the test; with ``credentials`` it requires
AUTH (LOGIN/PLAIN), which aiosmtpd only allows once the session is encrypted."""

from __future__ import annotations

import email
import email.policy
import ssl
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.registry_process import free_port
from tests.support.tls_front import private_ca


class _Keeper:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder  # also written there, one .eml file per message (the demo's mailbox)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.arrived:
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{time.time_ns()}.eml").write_bytes(envelope.original_content or envelope.content)
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"


class Mailbox:
    """``url`` is what serve's ``--smtp-url`` takes; ``ca_file`` the CA's PEM with ``tls``."""

    def __init__(self, tls: bool = False, credentials: tuple[str, str] | None = None,
                 folder: Path | None = None) -> None:
        self._keeper = _Keeper(folder)
        self.port = free_port()
        self.ca_file: Path | None = None
        self.logins: list[str] = []
        options: dict = {}
        if tls:
            ca, certificate, key = private_ca()
            folder = Path(tempfile.mkdtemp(prefix="mailbox-"))
            (folder / "ca.pem").write_bytes(ca)
            (folder / "cert.pem").write_bytes(certificate)
            (folder / "key.pem").write_bytes(key)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
            options.update(tls_context=context, require_starttls=True)
            self.ca_file = folder / "ca.pem"
        if credentials:
            def authenticate(server, session, envelope, mechanism, data) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
                if ok:
                    self.logins.append(data.login.decode())
                return AuthResult(success=ok, handled=False)
            options.update(authenticator=authenticate, auth_required=True)
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port, **options)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._keeper.messages)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[EmailMessage]:
        """The first ``count`` messages, once that many arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._keeper.arrived:
            while len(self._keeper.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._keeper.messages)} of {count} mails arrived: "
                                         + ", ".join(str(m["Subject"]) for m in self._keeper.messages))
                self._keeper.arrived.wait(left)
            return list(self._keeper.messages[:count])

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a quaywatch mail."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "a mail has a plain-text and an HTML part"
    return text.get_content(), html.get_content()
