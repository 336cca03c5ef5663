"""The one place that decides what a test means (issue 18): counts, new issues, what may be
notified, and reading the counts a project record holds."""

from __future__ import annotations

from datetime import date

from quaywatch.advisories.models import FixStatus
from quaywatch.matching.ignores import IgnoreRule
from quaywatch.matching.levels import LEVELS
from quaywatch.matching.models import Finding
from quaywatch.notifications.policy import NotificationPolicy
from quaywatch.outcome import count_issues, evaluate, stored_counts

TODAY = date(2026, 12, 6)


def finding(vid: str, severity: str = "high", fixed: str | None = None, package: str = "openssl",
            kev: bool = False) -> Finding:
    return Finding(id=vid, package=package, package_type="apk", installed_version="1.0", matched_as=package,
                   matched_version="1.0", ecosystem="Alpine", status=FixStatus.FIXED if fixed else FixStatus.AFFECTED,
                   fixed_version=fixed, severity=severity, severity_source="alpine" if severity != "unknown" else "none",
                   kev=kev, origin="os", path="lib/apk/db/installed")


def test_counts_cover_every_level_the_unrated_the_ignored_and_the_fixable() -> None:
    findings = [finding("CVE-1", "critical", "1.1"), finding("CVE-2", "negligible"), finding("CVE-3", "unknown"),
                finding("CVE-4", "unknown", "2.0"), finding("CVE-5", "low")]
    evaluate(findings, [IgnoreRule(id="CVE-5", reason="not reachable")], today=TODAY)
    counts = count_issues(findings)
    assert counts.as_dict() == {"critical": 1, "high": 0, "medium": 0, "low": 0, "negligible": 1, "unknown": 2}
    assert list(counts.as_dict()) == list(LEVELS)
    assert (counts.total, counts.unrated, counts.ignored, counts.fixable) == (4, 2, 1, 2)


def test_the_first_test_is_the_baseline_and_notifies_nobody() -> None:
    outcome = evaluate([finding("CVE-1"), finding("CVE-2")], [], NotificationPolicy(), previous=None, today=TODAY)
    assert [f.id for f in outcome.new] == ["CVE-1", "CVE-2"] and outcome.to_notify == []


def test_new_issues_are_the_difference_without_the_ignored() -> None:
    previous = [finding("CVE-1")]
    current = [finding("CVE-1"), finding("CVE-2"), finding("CVE-3")]
    outcome = evaluate(current, [IgnoreRule(id="CVE-3", reason="accepted")], NotificationPolicy(), previous,
                       today=TODAY)
    assert [f.id for f in outcome.new] == ["CVE-2"] and [f.id for f in outcome.to_notify] == ["CVE-2"]


def test_a_finding_that_rises_into_the_policy_is_notified_once() -> None:
    policy = NotificationPolicy(min_severity="high")
    before = [finding("CVE-1", "medium")]
    risen = [finding("CVE-1", "critical")]
    outcome = evaluate(risen, [], policy, before, today=TODAY)
    assert outcome.new == [] and [f.id for f in outcome.to_notify] == ["CVE-1"]
    again = evaluate([finding("CVE-1", "critical")], [], policy, risen, today=TODAY)
    assert again.to_notify == []  # admitted at the previous test already


def test_an_expired_ignore_gives_its_finding_back_and_the_counts_say_until_when() -> None:
    rules = [IgnoreRule(id="CVE-1", reason="until the fix", expires=date(2026, 12, 31))]
    held = evaluate([finding("CVE-1")], rules, today=TODAY)
    assert held.counts.ignored == 1 and held.counts_valid_until == date(2026, 12, 31)
    lapsed = evaluate([finding("CVE-1")], rules, today=date(2027, 1, 1))
    assert lapsed.counts.ignored == 0 and lapsed.counts.as_dict()["high"] == 1


def test_stored_counts_read_new_and_old_records_alike() -> None:
    new = {"issue_counts": {"critical": 1, "high": 0, "medium": 0, "low": 0, "negligible": 0, "unknown": 3},
           "finding_count": 6, "ignored_count": 2, "fixable_count": 1}
    assert stored_counts(new).as_dict()["unknown"] == 3 and stored_counts(new).fixable == 1
    old = {"issue_counts": {"critical": 1, "high": 1}, "finding_count": 6, "ignored_count": 1}  # no unknown stored
    assert stored_counts(old).as_dict()["unknown"] == 3 and stored_counts(old).total == 5
