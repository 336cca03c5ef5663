"""Mailer over SMTP, for ``serve``: ``smtp://`` (STARTTLS whenever the server offers it) or
``smtps://`` (TLS from the first byte), user and password in the URL or given apart.

One connection per batch of messages; every step has a timeout, so a mail server that stops
answering holds a worker for seconds, not forever. The password is never logged and never
sent over a connection that is not encrypted, unless the server is on this machine.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

from quaywatch.errors import UsageError
from quaywatch.observability import logger
from quaywatch.ports import MailFailed

TIMEOUT_SECONDS = 10.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str, username: str | None = None, password: str | None = None) -> SmtpServer:
        """``smtp://[user[:password]@]host[:port]`` or ``smtps://...``; ``username`` and
        ``password`` (their own variables) stand in for what the URL leaves out."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise UsageError("the SMTP URL is not valid: write smtp://host:port or smtps://user:password@host") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise UsageError(f"the SMTP URL must be smtp://host[:port] or smtps://host[:port], not {parts.scheme}://...")
        return cls(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme],
                   unquote(parts.username) if parts.username else username,
                   unquote(parts.password) if parts.password else password)

    def describe(self) -> str:
        """For logs and start-up lines: never the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


class SmtpMailer:
    def __init__(self, server: SmtpServer, sender: str, ca_bundle: str | None = None) -> None:
        self.server = server
        self.sender = sender
        self._context = ssl.create_default_context(cafile=ca_bundle)

    def send(self, messages: Sequence[EmailMessage]) -> int:
        if not messages:
            return 0
        try:
            with self._open() as client:  # closed whatever fails after it opened: TLS, login, a message
                self._secure_and_log_in(client)
                return self._deliver(client, messages)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("mail server failed", extra={"server": self.server.describe(), "error": _words(exc)})
            raise MailFailed(f"the mail server {self.server.describe()} failed: {_words(exc)}") from None

    def _open(self) -> smtplib.SMTP:
        server = self.server
        if server.scheme == "smtps":
            return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=self._context)
        return smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)

    def _secure_and_log_in(self, client: smtplib.SMTP) -> None:
        server = self.server
        encrypted = server.scheme == "smtps"
        if not encrypted:
            client.ehlo()
            encrypted = client.has_extn("starttls")
            if encrypted:
                client.starttls(context=self._context)
                client.ehlo()
        if server.username:
            if not encrypted and not _loopback(server.host):
                raise MailFailed(f"{server.describe()} offers no STARTTLS: the password would travel in clear "
                                 "(use smtps:// or a server that offers STARTTLS)")
            client.login(server.username, server.password or "")

    def _deliver(self, client: smtplib.SMTP, messages: Sequence[EmailMessage]) -> int:
        sent, transient = 0, False
        for message in messages:
            try:
                client.send_message(message, from_addr=self.sender)
                sent += 1
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                transient = transient or not _permanent(exc)
                logger.warning("mail refused", extra={"server": self.server.describe(), "error": _words(exc)})
        if sent == 0:
            raise MailFailed(f"the mail server {self.server.describe()} refused every message", permanent=not transient)
        return sent


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx answer (for every recipient): the server will not take it later either."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
    return str(exc) or type(exc).__name__
