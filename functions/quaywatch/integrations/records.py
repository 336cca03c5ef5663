"""An integration as stored: the typed record ``IntegrationsRepository`` takes and returns.

Adapters turn it into their storage form (``as_stored``) and back (``from_stored``); fields
a record written by an older version lacks take their defaults, fields it has that this
version no longer knows are dropped on read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Integration(BaseModel):
    """A saved Quay registry connection. The robot token lives in the vault under
    ``secret_arn``; the webhook token only as its hash."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    org_id: str
    kind: Literal["quay"] = "quay"
    url: str
    username: str
    secret_arn: str
    status: Literal["connected", "error"] = "connected"
    repository_count: int = 0
    auto_import: bool = False
    webhook_token_hash: str = ""
    created_at: str
    last_tested_at: str | None = None

    def changed(self, **changes: Any) -> Integration:
        """A copy with ``changes`` applied, validated like a stored record."""
        return Integration.model_validate({**self.as_stored(), **changes})

    def as_stored(self) -> dict[str, Any]:
        """JSON-compatible values, absent fields left out."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_stored(cls, item: dict[str, Any]) -> Integration:
        return cls.model_validate(item)
