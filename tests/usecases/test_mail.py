"""Mail use cases on the local adapters, delivered to a real SMTP server (aiosmtpd): the weekly
digest per member (their overrides, counts and their change, the most urgent fixable findings,
failed tests, once a week), failing-test mail, and the mail worker's rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from quaywatch.adapters.local.smtp import SmtpMailer, SmtpServer
from quaywatch.matching.models import Finding
from quaywatch.notifications.email.outbox import MalformedMailJob
from quaywatch.outcome import count_issues
from quaywatch.usecases.digest import send_digests
from quaywatch.usecases.mail import deliver_mail_message

from tests.support.mailbox import Mailbox, parts
from tests.support.records import inventory, record_test


def finding(vulnerability: str, severity: str, package: str, fixed: str | None, kev: bool = False) -> Finding:
    return Finding(id=vulnerability, package=package, package_type="apk", installed_version="1.0", matched_as=package,
                   matched_version="1.0", ecosystem="Alpine", status="fixed" if fixed else "affected",
                   fixed_version=fixed, severity=severity, severity_source="nvd", origin="os",
                   path="lib/apk/db/installed", kev=kev)


@pytest.fixture
def mailbox():
    with Mailbox() as box:
        yield box


@pytest.fixture
def mailing(services, mailbox):
    """``services`` with a mail server and a public URL (the links every mail carries)."""
    services.settings = replace(services.settings, public_url="http://qw.test", console_url="http://qw.test")
    services.mailer = SmtpMailer(SmtpServer.parse(mailbox.url), "quaywatch@qw.test")
    return services


def drain(services) -> list[str]:
    outcomes = []
    while messages := services.mail_queue.receive(10, 60):
        for message in messages:
            outcomes.append(deliver_mail_message(services, message.body, message.receive_count))
            services.mail_queue.ack(message)
    return outcomes


def seed(services, org_id: str) -> tuple[str, str]:
    web = [finding("CVE-2024-0001", "critical", "openssl", "3.0.9", kev=True), finding("CVE-2024-0002", "medium",
                                                                                      "zlib", "1.3")]
    api = [finding("CVE-2024-0003", "high", "busybox", None)]
    for project_id, repository, found in (("p-web", "acme/web", web), ("p-api", "acme/api", api)):
        record_test(services.projects, services.findings, project_id=project_id, org_id=org_id,
                    image=inventory(repository=repository), found=found, counts=count_issues(found))
    return "p-web", "p-api"


def test_the_digest_per_member_once_a_week_with_its_changes(mailing, mailbox, admin):
    services = mailing
    web, api = seed(services, admin.org_id)
    services.members.update(admin.org_id, "ann", {"email": "ann@acme.test", "level": "all"})
    services.members.update(admin.org_id, "bob", {"email": "bob@acme.test", "level": "critical_high",
                                                  "projects": {api: "none"}})
    services.members.update(admin.org_id, "cy", {"email": "cy@acme.test", "weekly_digest": False})
    monday = datetime(2026, 12, 7, 7, tzinfo=UTC)

    assert send_digests(services, monday)["sent"] == 2
    assert drain(services) == ["sent", "sent"]
    ann_text, ann_html = parts(next(m for m in mailbox.messages if m["To"] == "ann@acme.test"))
    bob_text, _ = parts(next(m for m in mailbox.messages if m["To"] == "bob@acme.test"))
    assert "2 monitored project(s), 3 open issue(s), 2 with a fix available" in ann_text
    assert "1 monitored project(s), 2 open issue(s)" in bob_text and "acme/api" not in bob_text  # his override
    urgent = ann_text.split("Most urgent fixable findings:")[1].splitlines()
    assert "CVE-2024-0001" in urgent[1] and "KEV" in urgent[1] and "CVE-2024-0002" in urgent[2]
    assert "CVE-2024-0003" not in ann_text.split("Most urgent")[1]  # no fix: not in the fixable list
    assert "since last week" not in ann_text and "http://qw.test/#/project/p-web" in ann_html

    assert send_digests(services, monday + timedelta(hours=1))["sent"] == 0  # a redelivered schedule: nothing again
    worse = [finding("CVE-2024-0001", "critical", "openssl", "3.0.9", kev=True),
             finding("CVE-2024-0004", "critical", "curl", "8.5"), finding("CVE-2024-0002", "medium", "zlib", "1.3")]
    record_test(services.projects, services.findings, project_id=web, org_id=admin.org_id,
                image=inventory(repository="acme/web", digest="sha256:bb"), found=worse, counts=count_issues(worse),
                existing=services.projects.get(web))
    services.projects.record_failure(api, "the registry answered 401: the robot token was revoked",
                                     monday + timedelta(days=6))
    assert send_digests(services, monday + timedelta(days=7))["sent"] == 2
    drain(services)
    ann_text, _ = parts([m for m in mailbox.messages if m["To"] == "ann@acme.test"][-1])
    assert any(line.split()[:3] == ["critical", "2", "+1"] for line in ann_text.splitlines())
    assert any(line.split()[:4] == ["high", "1", "no", "change"] for line in ann_text.splitlines())
    assert "acme/api:1.0: the registry answered 401: the robot token was revoked" in ann_text


def test_failing_tests_are_mailed_to_channels_and_members_who_get_mail_about_the_project(mailing, mailbox, admin):
    services = mailing
    _, api = seed(services, admin.org_id)
    services.access.set_channels(admin.org_id, [{"type": "email", "to": "sec@acme.test"},
                                                {"type": "webhook", "url": "http://127.0.0.1:9/none"}])
    services.members.update(admin.org_id, "ann", {"email": "ann@acme.test"})
    services.members.update(admin.org_id, "bob", {"email": "bob@acme.test", "projects": {api: "none"}})
    services.members.update(admin.org_id, "sec", {"email": "SEC@acme.test", "level": "critical_high"})
    for attempt in range(3):
        failed = services.projects.record_failure(api, "manifest unknown: the tag is gone", datetime.now(UTC))
    assert failed.failed_tests == 3
    services.email.tests_failing(failed, "manifest unknown: the tag is gone")
    assert drain(services) == ["sent", "sent"]  # ann and sec (once: a member's address is also the channel)
    assert sorted(str(m["To"]).lower() for m in mailbox.messages) == ["ann@acme.test", "sec@acme.test"]
    assert mailbox.messages[0]["Subject"] == "[quaywatch] Tests of acme/api:1.0 failed 3 times in a row"


def test_the_mail_worker_drops_what_it_cannot_send_and_refuses_what_is_not_mail(services, mailbox):
    with pytest.raises(MalformedMailJob):
        deliver_mail_message(services, '{"raw": "%%%"}', 1)
    with pytest.raises(MalformedMailJob):
        deliver_mail_message(services, "not json", 1)
    assert deliver_mail_message(services, '{"raw": "U3ViamVjdDogeA0KDQp4"}', 1) == "dropped"  # no mail server


def test_a_digest_asked_for_does_not_take_the_place_of_mondays(mailing, mailbox, admin):
    from quaywatch.usecases.digest import send_digest_now

    services = mailing
    seed(services, admin.org_id)
    services.members.update(admin.org_id, admin.user_id, {"email": "admin@acme.test"})
    assert send_digest_now(services, admin, "http://qw.test")["sent"] == 1  # an admin tries it out on a Friday
    monday = datetime.now(UTC) + timedelta(days=3)
    assert send_digests(services, monday)["sent"] == 1 and send_digests(services, monday)["sent"] == 0
    drain(services)
    assert len(mailbox.messages) == 2
