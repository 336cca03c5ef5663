"""Mail: the messages (HTML with a plain-text part, every registry-given value escaped, one-line
headers, RFC 8058 unsubscribe headers), the signed unsubscribe tokens, and the SMTP adapter
against a real SMTP server (aiosmtpd): STARTTLS with a private CA, AUTH, a refused login, a
server that is not there."""

from __future__ import annotations

import pytest
from quaywatch.adapters.local.smtp import SmtpMailer, SmtpServer
from quaywatch.errors import UsageError
from quaywatch.matching.models import Finding
from quaywatch.notifications.email.messages import (
    Digest,
    Envelope,
    NewIssues,
    UrgentFinding,
    digest_mail,
    new_issues_mail,
)
from quaywatch.notifications.email.unsubscribe import (
    InvalidUnsubscribeToken,
    Unsubscribe,
    UnsubscribeSigner,
)
from quaywatch.ports import MailFailed

from tests.support.mailbox import Mailbox, parts
from tests.support.registry_process import free_port

ENVELOPE = Envelope("quaywatch@acme.test", "ann@acme.test", "https://qw.acme.test/unsubscribe?token=t",
                    "https://qw.acme.test/#/email")


def finding(vulnerability: str, severity: str, package: str = "openssl", fixed: str | None = "3.0.8",
            kev: bool = False) -> Finding:
    return Finding(id=vulnerability, package=package, package_type="apk", installed_version="3.0.7",
                   matched_as=package, matched_version="3.0.7", ecosystem="Alpine", status="fixed" if fixed else "affected",
                   fixed_version=fixed, severity=severity, severity_source="nvd", origin="os",
                   path="lib/apk/db/installed", kev=kev)


def test_a_new_issues_mail_has_both_parts_the_fix_and_unsubscribe_headers() -> None:
    mail = new_issues_mail(ENVELOPE, NewIssues("acme/app:1.0", "linux/amd64", "https://qw.acme.test/#/project/p1", [
        finding("CVE-2024-0001", "medium"), finding("CVE-2024-0002", "critical", kev=True),
        finding("CVE-2024-0003", "high", package="zlib", fixed=None)], "https://qw.acme.test/unsubscribe?token=p"))
    assert mail["Subject"] == "[quaywatch] 3 new issues in acme/app:1.0 (1 critical, 1 high, 1 medium)"
    assert mail["List-Unsubscribe"] == "<https://qw.acme.test/unsubscribe?token=t>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"].endswith("@acme.test>")
    text, html = parts(mail)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "CVE-" in line)
    assert "CVE-2024-0002" in lines[first] and lines[first].rstrip().endswith("KEV")  # the most urgent first
    assert "fix available in 3.0.8" in text and "no fix yet" in text
    assert "Project: https://qw.acme.test/#/project/p1" in text
    assert "Unsubscribe: https://qw.acme.test/unsubscribe?token=t" in text
    assert "Stop mail about this project: https://qw.acme.test/unsubscribe?token=p" in text
    assert "<td>CVE-2024-0002 <b style='color:#b00020'>KEV</b></td>" in html


def test_registry_text_is_escaped_in_html_and_kept_to_one_line_in_headers() -> None:
    hostile = finding("CVE-2024-9<script>", "high", package="<img src=x onerror=alert(1)>")
    mail = new_issues_mail(ENVELOPE, NewIssues("acme/app:1.0\r\nBcc: eve@evil.test", "linux/amd64",
                                               "https://qw/#/project/p'><script>", [hostile]))
    _, html = parts(mail)
    assert "<script>" not in html and "<img" not in html and "&lt;img src=x" in html
    assert "\n" not in mail["Subject"] and mail["Bcc"] is None


def test_the_digest_shows_counts_their_change_urgent_fixes_and_failed_tests() -> None:
    digest = Digest("Acme", 12, {"critical": 2, "high": 5, "medium": 1, "low": 0, "negligible": 0, "unknown": 3},
                    {"critical": 1, "high": 5, "medium": 3}, fixable=6,
                    urgent=[UrgentFinding("acme/app:1.0", "https://qw/#/project/p1", finding("CVE-1", "critical"))],
                    failing=[("acme/gone:2", "https://qw/#/project/p2", "the tag is gone")],
                    console_url="https://qw/")
    mail = digest_mail(ENVELOPE, digest)
    assert mail["Subject"] == "[quaywatch] Weekly digest for Acme: 2 critical, 5 high across 12 project(s)"
    text, html = parts(mail)
    assert "11 open issue(s), 6 with a fix available" in text
    assert any(line.split()[:3] == ["critical", "2", "+1"] for line in text.splitlines())
    assert any(line.split()[:4] == ["high", "5", "no", "change"] for line in text.splitlines())
    assert any(line.split()[:3] == ["medium", "1", "-2"] for line in text.splitlines())
    assert "acme/app:1.0:" in text and "fix available in 3.0.8" in text
    assert "acme/gone:2: the tag is gone" in text and "Most urgent fixable findings" in html


def test_unsubscribe_tokens_round_trip_and_refuse_changes() -> None:
    signer = UnsubscribeSigner(b"key-one")
    what = Unsubscribe("org-1", "project", "user-1", "p-9")
    token = signer.token(what)
    assert signer.read(token) == what
    encoded, mac = token.split(".")
    forged = Unsubscribe("org-1", "all", "user-2").__dict__
    for bad in (token[:-2], f"{encoded}.{mac[::-1]}", UnsubscribeSigner(b"key-two").token(what),
                "x" * 5000, "", "a.b.c", f"{encoded}x.{mac}", UnsubscribeSigner(b"key-one").token(what) + "=",
                f"{UnsubscribeSigner(b'other').token(Unsubscribe(**forged)).split('.')[0]}.{mac}"):
        with pytest.raises(InvalidUnsubscribeToken):
            signer.read(bad)


def test_smtp_urls_are_read_and_told_without_the_password() -> None:
    server = SmtpServer.parse("smtps://alerts%40acme:s%3Acret@mail.acme.test")
    assert (server.scheme, server.host, server.port, server.username, server.password) == (
        "smtps", "mail.acme.test", 465, "alerts@acme", "s:cret")
    assert "s:cret" not in server.describe() and server.describe() == "smtps://alerts@acme@mail.acme.test:465"
    assert SmtpServer.parse("smtp://mail:2525", "u", "p").username == "u"
    for bad in ("http://mail", "smtp://", "mail.acme.test", "smtp://mail:99999"):
        with pytest.raises(UsageError):
            SmtpServer.parse(bad)


def test_starttls_with_a_private_ca_and_a_login_then_delivery() -> None:
    with Mailbox(tls=True, credentials=("alerts", "s3cret")) as box:
        mailer = SmtpMailer(SmtpServer.parse(box.url, "alerts", "s3cret"), "quaywatch@acme.test", str(box.ca_file))
        sent = mailer.send([new_issues_mail(ENVELOPE, NewIssues("acme/app:1", "linux/amd64", "https://qw/",
                                                                 [finding("CVE-1", "high")]))])
        (delivered,) = box.wait_for(1)
        assert sent == 1 and box.logins == ["alerts"] and delivered["To"] == "ann@acme.test"
        assert box._keeper.envelopes == [("quaywatch@acme.test", ["ann@acme.test"])]

        untrusted = SmtpMailer(SmtpServer.parse(box.url, "alerts", "s3cret"), "quaywatch@acme.test")
        with pytest.raises(MailFailed, match="certificate"):
            untrusted.send([new_issues_mail(ENVELOPE, NewIssues("a:1", "linux/amd64", "https://qw/", []))])
        wrong = SmtpMailer(SmtpServer.parse(box.url, "alerts", "wrong"), "quaywatch@acme.test", str(box.ca_file))
        with pytest.raises(MailFailed, match="535"):
            wrong.send([new_issues_mail(ENVELOPE, NewIssues("a:1", "linux/amd64", "https://qw/", []))])
        assert "s3cret" not in str(MailFailed) and len(box.messages) == 1


def test_a_mail_server_that_is_not_there_is_one_sentence() -> None:
    mailer = SmtpMailer(SmtpServer.parse(f"smtp://127.0.0.1:{free_port()}"), "quaywatch@acme.test")
    with pytest.raises(MailFailed, match=r"^the mail server smtp://127.0.0.1:\d+ failed: "):
        mailer.send([new_issues_mail(ENVELOPE, NewIssues("a:1", "linux/amd64", "https://qw/", []))])


def test_no_password_over_a_connection_without_tls_to_another_machine() -> None:
    with Mailbox() as box:  # no STARTTLS offered; the host is named, not loopback
        mailer = SmtpMailer(SmtpServer("smtp", "localhost.localdomain.invalid", box.port, "u", "p"), "q@acme.test")
        with pytest.raises(MailFailed):
            mailer.send([new_issues_mail(ENVELOPE, NewIssues("a:1", "linux/amd64", "https://qw/", []))])
        assert box.messages == []
