"""Members' email preferences: an address, how much mail (all new issues, critical and high
only, none) and per-project overrides.

A member is a user id of the organisation (the one its API tokens carry). The record holds
what the member chose and what the digest last told them (so the next digest can say what
changed); the two are written field by field, so a digest going out never undoes a change of
preference made meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from quaywatch.matching.levels import RANK
from quaywatch.ports import AccessRepository

EmailLevel = Literal["all", "critical_high", "none"]
MAX_PROJECT_OVERRIDES = 1000


_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _address(value: str) -> str:
    """``local@domain`` with a dot-atom local part and a DNS name: the syntax only (no DNS
    lookup: the server may not reach it), and private names allowed (a self-hosted quaywatch
    mails ``team@corp.internal`` or ``root@localhost``). The domain is lowercased."""
    local, at, domain = value.strip().rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_domain = ""
    if not at or len(local) > 64 or not _LOCAL_PART.fullmatch(local) or len(ascii_domain) > 253 \
            or not all(_LABEL.fullmatch(label) for label in ascii_domain.split(".")):
        raise ValueError("not an email address (name@example.com)")
    return f"{local}@{ascii_domain}"


EmailAddress = Annotated[str, Field(max_length=320), AfterValidator(_address)]


class DigestMark(BaseModel):
    """What the last weekly digest told the member: when, and the counts it showed."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    at: str
    counts: dict[str, int] = Field(default_factory=dict)


class EmailPreferences(BaseModel):
    """What a member may set (``PUT /me/notifications``)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | None = Field(None, description="where quaywatch mails you; none: no mail at all")
    level: EmailLevel = Field("all", description="all new issues, critical_high only, or none")
    weekly_digest: bool = Field(True, description="the Monday summary of your organisation's projects")
    projects: dict[str, EmailLevel] = Field(
        default_factory=dict, max_length=MAX_PROJECT_OVERRIDES,
        description="per-project overrides of level, by project id")


class Member(EmailPreferences):
    """A member's stored record: preferences, role and the last digest."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    role: str = "member"
    last_digest: DigestMark | None = None  # the last digest sent, scheduled or asked for
    last_weekly_at: str | None = None  # when the Monday schedule last mailed them (a redelivery sends nothing)

    def level_for(self, project_id: str) -> EmailLevel:
        return self.projects.get(project_id, self.level)

    def wants(self, project_id: str, severity: str) -> bool:
        """Whether a new issue of this severity in this project is mailed to the member."""
        if not self.email:
            return False
        level = self.level_for(project_id)
        return level == "all" or (level == "critical_high" and RANK.get(severity, 0) >= RANK["high"])

    def view(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"last_digest", "last_weekly_at"})


class MemberStore:
    """Members over the ``AccessRepository`` (record per organisation and user)."""

    def __init__(self, repository: AccessRepository) -> None:
        self._repository = repository

    def get(self, org_id: str, user_id: str, role: str = "member") -> Member:
        """The member's record; a user who never set anything gets the defaults (no address)."""
        stored = self._repository.get_member(org_id, user_id)
        return Member.model_validate({"role": role, **(stored or {}), "user_id": user_id})

    def update(self, org_id: str, user_id: str, changes: dict[str, Any]) -> Member:
        self._repository.update_member(org_id, user_id, changes)
        return self.get(org_id, user_id)

    def all(self, org_id: str) -> Iterator[Member]:
        for record in self._repository.members(org_id):
            yield Member.model_validate(record)

    def with_email(self, org_id: str) -> list[Member]:
        """The members mail can go to (an address, and not every kind of mail turned off)."""
        return [m for m in self.all(org_id) if m.email and (m.level != "none" or m.weekly_digest
                                                           or any(v != "none" for v in m.projects.values()))]
