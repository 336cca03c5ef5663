"""Signed unsubscribe tokens: a link in every mail that stops that mail without logging in.

The token names what to stop (a member's mail, one project's mail for a member, the weekly
digest, or an email channel's address) and carries an HMAC-SHA256 of it under the
deployment's signing key, so nobody can make a token for someone else. Tokens do not expire:
an unsubscribe link in a year-old mail still has to work (RFC 8058 expects no less).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

from quaywatch.errors import QuaywatchError

Scope = Literal["all", "project", "digest", "channel"]
MAX_TOKEN_CHARS = 1024


class InvalidUnsubscribeToken(QuaywatchError):
    """The token was altered, truncated or made without our key."""


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe link stops: ``subject`` is the member's user id, or the channel's
    address for ``channel``; ``project_id`` for ``project``."""

    org_id: str
    scope: Scope
    subject: str
    project_id: str | None = None

    def describe(self) -> str:
        if self.scope == "channel":
            return f"quaywatch mail to {self.subject}"
        if self.scope == "digest":
            return "the weekly digest"
        if self.scope == "project":
            return "mail about this project"
        return "all quaywatch mail"


class UnsubscribeSigner:
    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"quaywatch unsubscribe v1\0" + key).digest()  # this use's own key

    def token(self, what: Unsubscribe) -> str:
        payload = json.dumps([what.org_id, what.scope, what.subject, what.project_id], separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str) -> Unsubscribe:
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise InvalidUnsubscribeToken("this unsubscribe link is not valid (it may have been cut short)")
        encoded, mac = token.split(".")
        try:
            payload, given = _unb64(encoded), _unb64(mac)
        except ValueError:
            raise InvalidUnsubscribeToken("this unsubscribe link is not valid (it may have been cut short)") from None
        if not hmac.compare_digest(given, self._mac(payload)):
            raise InvalidUnsubscribeToken("this unsubscribe link is not valid (it may have been cut short)")
        org_id, scope, subject, project_id = json.loads(payload)  # ours: signed above
        return Unsubscribe(org_id, scope, subject, project_id)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:18]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Only the one spelling ``_b64`` writes (padding, stray characters: refused)."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data
