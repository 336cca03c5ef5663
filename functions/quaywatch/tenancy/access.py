"""API tokens -> principals. Tokens are random, shown once, and stored only as SHA-256
hashes (a stolen table reveals no usable token)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from quaywatch.errors import QuaywatchError
from quaywatch.ports import AccessRepository

Role = Literal["admin", "member"]


class AuthenticationFailed(QuaywatchError):
    """No token, or a token we do not know."""


class Forbidden(QuaywatchError):
    """A known principal asked for something its role does not allow."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    org_id: str
    role: Role

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("this needs an organisation admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessStore:
    """Organisations and tokens over an ``AccessRepository``: the token's hash is the key."""

    def __init__(self, repository: AccessRepository) -> None:
        self._repository = repository

    def create_organisation(self, name: str) -> str:
        org_id = uuid.uuid4().hex
        self._repository.put_organisation(org_id, {"name": name, "created_at": _now(), "channels": []})
        return org_id

    def issue_token(self, org_id: str, role: Role, user_id: str | None = None, token: str | None = None) -> str:
        """A new API token for a user of ``org_id`` (``token`` lets automation choose it)."""
        token = token or f"qw_{secrets.token_urlsafe(32)}"
        self._repository.put_token(hash_token(token), {"org_id": org_id, "user_id": user_id or uuid.uuid4().hex,
                                                      "role": role, "created_at": _now()})
        return token

    def knows_token(self, token: str) -> bool:
        return self._repository.get_token(hash_token(token)) is not None

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthenticationFailed("missing bearer token (Authorization: Bearer <token>)")
        item = self._repository.get_token(hash_token(authorization[7:].strip()))
        if item is None:
            raise AuthenticationFailed("unknown or revoked token")
        return Principal(user_id=item["user_id"], org_id=item["org_id"], role=item["role"])

    def organisation(self, org_id: str) -> dict[str, Any] | None:
        return self._repository.get_organisation(org_id)

    def channels(self, org_id: str) -> list[dict[str, str]]:
        return list((self.organisation(org_id) or {}).get("channels", []))

    def set_channels(self, org_id: str, channels: list[dict[str, str]]) -> None:
        self._repository.set_channels(org_id, channels)

    def notification_policy(self, org_id: str) -> dict[str, Any]:
        return notification_policy_of(self.organisation(org_id) or {})

    def set_notification_policy(self, org_id: str, policy: dict[str, Any]) -> None:
        organisation = self._repository.get_organisation(org_id) or {"name": "", "created_at": _now(), "channels": []}
        self._repository.put_organisation(org_id, {**organisation, "notification_policy": policy})

    def base_sources(self, org_id: str) -> list[dict[str, Any]]:
        """The repositories the organisation builds on (base images and their candidates)."""
        return list((self.organisation(org_id) or {}).get("base_sources") or [])

    def set_base_sources(self, org_id: str, sources: list[dict[str, Any]]) -> None:
        organisation = self._repository.get_organisation(org_id) or {"name": "", "created_at": _now(), "channels": []}
        self._repository.put_organisation(org_id, {**organisation, "base_sources": sources})

    def set_ignores(self, org_id: str, ignores: list[dict[str, Any]]) -> None:
        """The organisation's ignore rules (the whole list: last writer wins)."""
        organisation = self._repository.get_organisation(org_id) or {"name": "", "created_at": _now(), "channels": []}
        self._repository.put_organisation(org_id, {**organisation, "ignores": ignores})


def notification_policy_of(organisation: dict[str, Any]) -> dict[str, Any]:
    """The notification policy stored on an organisation record (empty: none set)."""
    return dict(organisation.get("notification_policy") or {})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
