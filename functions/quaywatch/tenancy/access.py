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
    """The access table: ``TOKEN#<sha256>`` -> principal, ``ORG#<id>`` -> organisation."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create_organisation(self, name: str) -> str:
        org_id = uuid.uuid4().hex
        self._table.put_item(Item={"pk": f"ORG#{org_id}", "name": name, "created_at": _now(), "channels": []})
        return org_id

    def issue_token(self, org_id: str, role: Role, user_id: str | None = None, token: str | None = None) -> str:
        """A new API token for a user of ``org_id`` (``token`` lets automation choose it)."""
        token = token or f"qw_{secrets.token_urlsafe(32)}"
        self._table.put_item(
            Item={"pk": f"TOKEN#{hash_token(token)}", "org_id": org_id, "user_id": user_id or uuid.uuid4().hex,
                  "role": role, "created_at": _now()}
        )
        return token

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthenticationFailed("missing bearer token (Authorization: Bearer <token>)")
        item = self._table.get_item(Key={"pk": f"TOKEN#{hash_token(authorization[7:].strip())}"}).get("Item")
        if item is None:
            raise AuthenticationFailed("unknown or revoked token")
        return Principal(user_id=item["user_id"], org_id=item["org_id"], role=item["role"])

    def organisation(self, org_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": f"ORG#{org_id}"}).get("Item")

    def set_channels(self, org_id: str, channels: list[dict[str, str]]) -> None:
        self._table.update_item(
            Key={"pk": f"ORG#{org_id}"}, UpdateExpression="SET channels = :c", ExpressionAttributeValues={":c": channels}
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
