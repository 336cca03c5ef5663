"""The weekly digest: one mail per member who wants it (an address, ``weekly_digest`` on),
with the organisation's open issues by severity and their change since the member's last
digest, the most urgent findings that have a fix, and the projects whose last test failed.

The schedule (Mondays, template.yaml's DigestFunction) may deliver twice; a member the
schedule mailed in the last six days is skipped, so a redelivery sends nothing again.
``POST /organisation/digest`` sends now (``force``), for admins who want to see it, and does
not take the place of Monday's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quaywatch.errors import UsageError
from quaywatch.matching.levels import LEVELS, RANK
from quaywatch.matching.models import Finding
from quaywatch.notifications.email.delivery import EmailNotifier
from quaywatch.notifications.email.messages import Digest, UrgentFinding, digest_mail, urgency
from quaywatch.observability import logger
from quaywatch.projects.records import Project
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.tenancy.members import DigestMark, Member

RESEND_AFTER = timedelta(days=6)
MAX_URGENT = 10
PROJECTS_SEARCHED = 20  # the projects with the most critical/high fixable issues, read for "most urgent"
PAGE = 500


@dataclass
class _Org:
    """One pass over the organisation's projects, shared by its members' digests."""

    name: str
    projects: list[Project]
    latest: dict[str, list[Finding]]


def send_digests(services: Services, now: datetime | None = None) -> dict[str, int]:
    """Every organisation's digests (the weekly schedule); nothing when no mail is set up."""
    totals = {"organisations": 0, "sent": 0, "skipped": 0}
    notifier = services.email
    if notifier is None:
        logger.info("weekly digests: no mail server is set up")
        return totals
    for org_id in services.access_repository.organisation_ids():
        totals["organisations"] += 1
        result = _send_for(services, notifier, org_id, now or datetime.now(UTC), force=False)
        totals["sent"] += result["sent"]
        totals["skipped"] += result["skipped"]
    logger.info("weekly digests", extra=totals)
    return totals


def send_digest_now(services: Services, caller: Principal, api_url: str) -> dict[str, int]:
    """The caller's organisation's digests, now, whatever was sent this week (admins);
    ``api_url``: the API's base URL, for the mails' links."""
    caller.require_admin()
    return _send_for(services, _email(services, api_url), caller.org_id, datetime.now(UTC), force=True)


def _send_for(services: Services, notifier: EmailNotifier, org_id: str, now: datetime, force: bool) -> dict[str, int]:
    sent = skipped = 0
    org: _Org | None = None
    for member in services.members.with_email(org_id):
        if not member.weekly_digest or (not force and _recent(member, now)):
            skipped += 1
            continue
        org = org or _read(services, org_id)
        digest = _digest_for(services, org, member, notifier)
        if notifier.send([digest_mail(notifier.member_envelope(org_id, member, "digest"), digest)], org_id):
            at = now.isoformat(timespec="seconds")
            mark = {"last_digest": DigestMark(at=at, counts=digest.counts).model_dump()}
            services.members.update(org_id, member.user_id, mark if force else {**mark, "last_weekly_at": at})
            sent += 1
    return {"sent": sent, "skipped": skipped}


def _digest_for(services: Services, org: _Org, member: Member, notifier: EmailNotifier) -> Digest:
    projects = [p for p in org.projects if member.level_for(p.id) != "none"]
    counts = dict.fromkeys(LEVELS, 0)
    for project in projects:
        for level in LEVELS:
            counts[level] += int(project.issue_counts.get(level, 0))
    links = notifier.links
    failing = [(f"{p.repository}:{p.tag}", links.project(p.id), p.last_test.error or "unknown error")
               for p in projects if p.last_test is not None and p.last_test.status == "failed"][:MAX_URGENT]
    return Digest(org.name, len(projects), counts, member.last_digest.counts if member.last_digest else None,
                  sum(p.fixable_count for p in projects), _urgent(services, org, projects, links.project), failing,
                  links.console())


def _urgent(services: Services, org: _Org, projects: list[Project],
            link: Callable[[str], str]) -> list[UrgentFinding]:
    """The most urgent fixable findings among the projects with the most critical and high
    issues (a bounded read, whatever the organisation's size)."""
    searched = sorted((p for p in projects if p.fixable_count),
                      key=lambda p: (-p.issue_counts.get("critical", 0), -p.issue_counts.get("high", 0),
                                     -p.fixable_count))[:PROJECTS_SEARCHED]
    found: list[UrgentFinding] = []
    for project in searched:
        if project.id not in org.latest:
            latest = services.findings.latest(project.id)
            org.latest[project.id] = latest.findings if latest else []
        found += [UrgentFinding(f"{project.repository}:{project.tag}", link(project.id), f)
                  for f in org.latest[project.id]
                  if f.fixed_version and f.ignored is None and RANK.get(f.severity, 0) >= RANK["medium"]]
    found.sort(key=lambda u: urgency(u.finding))
    unique: dict[tuple[str, str], UrgentFinding] = {}
    for item in found:  # one line per image and vulnerability (a finding may be in several packages)
        unique.setdefault((item.image, item.finding.id), item)
    return list(unique.values())[:MAX_URGENT]


def _read(services: Services, org_id: str) -> _Org:
    organisation = services.access.organisation(org_id) or {}
    return _Org(organisation.get("name") or "your organisation", list(_projects(services, org_id)), {})


def _projects(services: Services, org_id: str) -> Iterator[Project]:
    cursor: str | None = None
    while True:
        page, cursor = services.projects_repository.page_by_org(org_id, PAGE, cursor)
        yield from (p for p in page if p.active)
        if cursor is None:
            return


def _recent(member: Member, now: datetime) -> bool:
    """Mailed by the schedule within the week (a digest asked for by an admin does not count)."""
    if member.last_weekly_at is None:
        return False
    try:
        return now - datetime.fromisoformat(member.last_weekly_at) < RESEND_AFTER
    except ValueError:
        return False


def _email(services: Services, api_url: str) -> EmailNotifier:
    notifier = services.email_for(api_url)
    if notifier is None:
        raise UsageError("email is not set up on this server: start serve with --smtp-url smtp://HOST:PORT "
                         "(or deploy with the EmailSender parameter)")
    return notifier
