"""The mails themselves: a new-issues mail and the weekly digest, each HTML with a plain-text
part, and the headers mail clients use to offer "unsubscribe" (RFC 2369 and 8058).

Everything shown comes from registries and feeds (package names, summaries), so every value
is escaped in the HTML and kept to one line in headers; the HTML has no script, no remote
image and no form, which is what mail clients render.
"""

from __future__ import annotations

import email.policy
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from quaywatch.matching.levels import ISSUE_LEVELS, LEVELS
from quaywatch.matching.models import Finding
from quaywatch.outcome import count_issues

MAX_FINDINGS_LISTED = 25
# CRLF line ends as SMTP wants; headers folded only past RFC 5322's hard limit (Python folds a
# long subject right after "Subject:", which its own parser then reads with a leading space).
POLICY = email.policy.SMTP.clone(max_line_length=998)
COLOURS = {"critical": "#b00020", "high": "#d9480f", "medium": "#b08800", "low": "#2b8a3e",
           "negligible": "#868e96", "unknown": "#868e96"}


@dataclass(frozen=True)
class Envelope:
    """Who a mail goes to and the links it carries (absolute URLs)."""

    sender: str
    to: str
    unsubscribe_url: str
    preferences_url: str | None = None  # where a member changes what they get (none for a channel address)
    reason: str = "you are a member of this quaywatch organisation"


@dataclass(frozen=True)
class NewIssues:
    image: str  # repository:tag
    platform: str
    project_url: str
    findings: Sequence[Finding]
    unsubscribe_project_url: str | None = None


@dataclass(frozen=True)
class UrgentFinding:
    image: str
    project_url: str
    finding: Finding


@dataclass(frozen=True)
class Digest:
    organisation: str
    projects: int
    counts: dict[str, int]
    previous: dict[str, int] | None  # what the last digest showed (none: the first digest)
    fixable: int
    urgent: Sequence[UrgentFinding] = ()
    failing: Sequence[tuple[str, str, str]] = ()  # (image, project URL, error)
    console_url: str | None = None


def new_issues_mail(envelope: Envelope, content: NewIssues) -> EmailMessage:
    findings = sorted(content.findings, key=urgency)
    counts = count_issues(findings).by_severity  # new issues: none of them is ignored
    subject = f"[quaywatch] {len(findings)} new issue{'s' if len(findings) != 1 else ''} in {content.image}"
    worst = ", ".join(f"{counts[level]} {level}" for level in ISSUE_LEVELS if counts[level])
    if worst:
        subject += f" ({worst})"
    listed = findings[:MAX_FINDINGS_LISTED]
    more = len(findings) - len(listed)
    text = [f"{len(findings)} new issue(s) were found in {content.image} ({content.platform}).", ""]
    text += [_finding_line(f) for f in listed]
    if more:
        text.append(f"... and {more} more on the project's page.")
    text += ["", f"Project: {content.project_url}"]
    rows = "".join(_finding_row(f) for f in listed)
    body = (f"<p><b>{len(findings)}</b> new issue(s) were found in <b>{_e(content.image)}</b> "
            f"({_e(content.platform)}).</p>"
            f"<table cellpadding='4' style='border-collapse:collapse;font-size:14px'>"
            f"<tr style='text-align:left'><th>Severity</th><th>Vulnerability</th><th>Package</th><th>Fix</th></tr>"
            f"{rows}</table>"
            + (f"<p>... and {more} more on the project's page.</p>" if more else "")
            + f"<p><a href='{_e(content.project_url)}'>Open the project</a></p>")
    footer_links = [("Stop mail about this project", content.unsubscribe_project_url)] \
        if content.unsubscribe_project_url else []
    return _message(envelope, subject, text, body, footer_links)


def digest_mail(envelope: Envelope, digest: Digest) -> EmailMessage:
    counts, previous = digest.counts, digest.previous
    issues = sum(counts.get(level, 0) for level in LEVELS)
    subject = f"[quaywatch] Weekly digest for {digest.organisation}: {counts.get('critical', 0)} critical, " \
              f"{counts.get('high', 0)} high across {digest.projects} project(s)"
    text = [(f"Weekly digest for {digest.organisation}: {digest.projects} monitored project(s), "
            f"{issues} open issue(s), {digest.fixable} with a fix available."), ""]
    text += [f"  {level:<10} {counts.get(level, 0):>6}  {_change(counts, previous, level)}" for level in LEVELS]
    rows = "".join(f"<tr><td style='color:{COLOURS[level]}'>{level}</td><td align='right'>{counts.get(level, 0)}</td>"
                   f"<td>{_e(_change(counts, previous, level))}</td></tr>" for level in LEVELS)
    body = (f"<p>Weekly digest for <b>{_e(digest.organisation)}</b>: {digest.projects} monitored project(s), "
            f"<b>{issues}</b> open issue(s), <b>{digest.fixable}</b> with a fix available.</p>"
            f"<table cellpadding='4' style='border-collapse:collapse;font-size:14px'>{rows}</table>")
    if digest.urgent:
        text += ["", "Most urgent fixable findings:"]
        text += [f"  {u.image}: {_finding_line(u.finding).strip()}  {u.project_url}" for u in digest.urgent]
        body += ("<h3>Most urgent fixable findings</h3><table cellpadding='4' style='border-collapse:collapse;"
                 "font-size:14px'><tr style='text-align:left'><th>Severity</th><th>Vulnerability</th><th>Package</th>"
                 "<th>Fix</th><th>Image</th></tr>"
                 + "".join(_finding_row(u.finding, f"<td><a href='{_e(u.project_url)}'>{_e(u.image)}</a></td>")
                           for u in digest.urgent) + "</table>")
    if digest.failing:
        text += ["", "Projects whose last test failed:"]
        text += [f"  {image}: {error}  {url}" for image, url, error in digest.failing]
        body += ("<h3>Projects whose last test failed</h3><ul>"
                 + "".join(f"<li><a href='{_e(url)}'>{_e(image)}</a>: {_e(error)}</li>" for image, url, error in digest.failing)
                 + "</ul>")
    if digest.console_url:
        text += ["", f"Console: {digest.console_url}"]
        body += f"<p><a href='{_e(digest.console_url)}'>Open quaywatch</a></p>"
    return _message(envelope, subject, text, body, [])


def _message(envelope: Envelope, subject: str, text: list[str], body: str,
             extra_links: list[tuple[str, str | None]]) -> EmailMessage:
    links = [*extra_links, ("Unsubscribe", envelope.unsubscribe_url)]
    if envelope.preferences_url:
        links.insert(0, ("Email preferences", envelope.preferences_url))
    text += ["", "--", f"You get this mail because {envelope.reason}."]
    text += [f"{label}: {url}" for label, url in links if url]
    footer = " · ".join(f"<a href='{_e(url)}'>{_e(label)}</a>" for label, url in links if url)
    message = EmailMessage(policy=POLICY)
    message["From"] = envelope.sender
    message["To"] = envelope.to
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=envelope.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("\n".join(text) + "\n")
    message.add_alternative(
        "<!doctype html><html><body style='font-family:sans-serif;color:#212529'>"
        f"{body}<hr><p style='font-size:12px;color:#868e96'>You get this mail because {_e(envelope.reason)}.<br>"
        f"{footer}</p></body></html>", subtype="html")
    return message


def _finding_line(finding: Finding) -> str:
    marks = " KEV" if finding.kev else ""
    return (f"  {finding.severity.upper():<10} {finding.id:<20} {finding.package} {finding.installed_version}  "
            f"{_fix(finding)}{marks}")


def _finding_row(finding: Finding, extra: str = "") -> str:
    kev = " <b style='color:#b00020'>KEV</b>" if finding.kev else ""
    return (f"<tr style='border-top:1px solid #dee2e6'><td style='color:{COLOURS.get(finding.severity, '#868e96')}'>"
            f"{_e(finding.severity)}</td><td>{_e(finding.id)}{kev}</td>"
            f"<td>{_e(finding.package)} {_e(finding.installed_version)}</td><td>{_e(_fix(finding))}</td>{extra}</tr>")


def _fix(finding: Finding) -> str:
    if finding.fixed_version:
        return f"fix available in {finding.fixed_version}"
    return {"affected": "no fix yet", "fix_deferred": "fix deferred", "will_not_fix": "will not fix",
            "out_of_support": "out of support"}.get(finding.status.value, finding.status.value)


def _change(counts: dict[str, int], previous: dict[str, int] | None, level: str) -> str:
    if previous is None:
        return ""
    delta = counts.get(level, 0) - previous.get(level, 0)
    return f"{delta:+d} since last week" if delta else "no change"


def urgency(finding: Finding) -> tuple[int, int, float]:
    """Most urgent first: known exploited, then severity, then EPSS."""
    rank = LEVELS.index(finding.severity) if finding.severity in LEVELS else len(LEVELS)
    return (0 if finding.kev else 1, rank, -(finding.epss.score if finding.epss else 0.0))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]



def failing_mail(envelope: Envelope, image: str, platform: str, project_url: str, failures: int,
                 error: str) -> EmailMessage:
    subject = f"[quaywatch] Tests of {image} failed {failures} times in a row"
    text = [f"The last {failures} tests of {image} ({platform}) failed; its findings are from its last good test.",
            "", f"Reason: {error}", "", f"Project: {project_url}"]
    body = (f"<p>The last {failures} tests of <b>{_e(image)}</b> ({_e(platform)}) failed; its findings are from its "
            f"last good test.</p><p>Reason: {_e(error)}</p><p><a href='{_e(project_url)}'>Open the project</a></p>")
    return _message(envelope, subject, text, body, [])
