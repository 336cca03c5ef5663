"""Who gets which mail, and sending it: the organisation's email channels get every new issue
the notification policy lets through; each member with an address gets what their
preferences ask for (all, critical and high, none; per project). One address gets one mail
per test: a member's own preferences decide for an address that is also a channel.

Mail is queued (``outbox.py``, sent by ``usecases/mail.py``): a mail server that fails delays
mail, never fails the test that found the issues, and loses nothing the queue's retries and
dead letters can keep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import quote

from quaywatch.matching.models import Finding
from quaywatch.notifications.email.messages import (
    Envelope,
    NewIssues,
    failing_mail,
    new_issues_mail,
)
from quaywatch.notifications.email.unsubscribe import Unsubscribe, UnsubscribeSigner
from quaywatch.projects.records import Project
from quaywatch.tenancy.members import Member, MemberStore

ChannelsFor = Callable[[str], list[dict[str, str]]]


class Outbox(Protocol):
    """Where rendered mail goes to be sent (``outbox.MailOutbox``: the mail queue)."""

    def send(self, messages: list[EmailMessage], org_id: str) -> int: ...


@dataclass(frozen=True)
class MailLinks:
    """Absolute URLs in mails: ``api_url`` serves ``/unsubscribe``; ``console_url`` the web
    console (``serve``: the same server), without which links go to the API's JSON."""

    api_url: str
    console_url: str | None = None

    def project(self, project_id: str) -> str:
        if self.console_url:
            return f"{self.console_url.rstrip('/')}/#/project/{quote(project_id)}"
        return f"{self.api_url.rstrip('/')}/projects/{quote(project_id)}"

    def preferences(self) -> str | None:
        return f"{self.console_url.rstrip('/')}/#/email" if self.console_url else None

    def console(self) -> str | None:
        return f"{self.console_url.rstrip('/')}/" if self.console_url else None

    def unsubscribe(self, token: str) -> str:
        return f"{self.api_url.rstrip('/')}/unsubscribe?token={token}"


class EmailNotifier:
    def __init__(self, outbox: Outbox, sender: str, members: MemberStore, channels_for: ChannelsFor,
                 signer: UnsubscribeSigner, links: MailLinks) -> None:
        self._outbox = outbox
        self._sender = sender
        self._members = members
        self._channels_for = channels_for
        self._signer = signer
        self.links = links

    def new_issues(self, project: Project, findings: list[Finding]) -> int:
        content = NewIssues(f"{project.repository}:{project.tag}", project.platform, self.links.project(project.id),
                            findings)
        messages: list[EmailMessage] = []
        mailed: set[str] = set()
        for member in self._members.with_email(project.org_id):
            wanted = [f for f in findings if member.wants(project.id, f.severity)]
            if wanted and member.email and member.email.lower() not in mailed:
                mailed.add(member.email.lower())
                per_project = self._unsubscribe_url(Unsubscribe(project.org_id, "project", member.user_id, project.id))
                messages.append(new_issues_mail(self.member_envelope(project.org_id, member), NewIssues(
                    content.image, content.platform, content.project_url, wanted, per_project)))
        for address in self._channel_addresses(project.org_id):
            if address.lower() not in mailed:
                mailed.add(address.lower())
                messages.append(new_issues_mail(self.channel_envelope(project.org_id, address), content))
        return self.send(messages, project.org_id)

    def tests_failing(self, project: Project, error: str | None) -> int:
        """Three failed tests in a row: the email channels and the members who get mail about the project."""
        image, url = f"{project.repository}:{project.tag}", self.links.project(project.id)
        envelopes = [self.member_envelope(project.org_id, m) for m in self._members.with_email(project.org_id)
                     if m.level_for(project.id) != "none"]
        envelopes += [self.channel_envelope(project.org_id, a) for a in self._channel_addresses(project.org_id)]
        unique = {e.to.lower(): e for e in reversed(envelopes)}  # a member's own envelope over a channel's
        messages = [failing_mail(e, image, project.platform, url, project.failed_tests, error or "unknown error")
                    for e in unique.values()]
        return self.send(messages, project.org_id)

    def send(self, messages: list[EmailMessage], org_id: str) -> int:
        """Hand the messages to the outbox (the mail queue); how many it took."""
        return self._outbox.send(messages, org_id) if messages else 0

    def member_envelope(self, org_id: str, member: Member, scope: str = "all") -> Envelope:
        return Envelope(self._sender, member.email or "",
                        self._unsubscribe_url(Unsubscribe(org_id, scope, member.user_id)),  # type: ignore[arg-type]
                        self.links.preferences())

    def channel_envelope(self, org_id: str, address: str) -> Envelope:
        return Envelope(self._sender, address, self._unsubscribe_url(Unsubscribe(org_id, "channel", address)),
                        reason="an admin of your quaywatch organisation added this address as a channel")

    def _channel_addresses(self, org_id: str) -> list[str]:
        return [c["to"] for c in self._channels_for(org_id) if c.get("type") == "email" and c.get("to")]

    def _unsubscribe_url(self, what: Unsubscribe) -> str:
        return self.links.unsubscribe(self._signer.token(what))
