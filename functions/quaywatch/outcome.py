"""What a test means to the people who see it, decided in one place (pure: no I/O).

From a test's findings and the rules in force (the organisation's and the project's
ignores, the organisation's notification policy), ``evaluate`` computes:

- the issue counts: the findings no rule ignores, by severity (``unknown``: no source rates
  it; never left out, never zero), plus how many are ignored, how many have a fix, the total;
- the new issues: findings absent from the previous test, not ignored;
- what may be notified: what the policy admits now and did not admit at the previous test,
  so a finding that rises into the policy later (a new rating, KEV, a fix, an ignore that
  expired) is told once, and the first test of a project (the baseline) tells nobody.

The tester, the recount after an ignore, the project detail, base-image recommendations and
``quaywatch scan`` all count with ``count_issues``; severity levels are ``LEVELS`` (from
matching/levels.py), declared once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from quaywatch.matching.ignores import IgnoreRule, apply_ignores
from quaywatch.matching.levels import LEVELS
from quaywatch.matching.models import Finding
from quaywatch.notifications.policy import NotificationPolicy

__all__ = ["LEVELS", "IssueCounts", "Outcome", "count_issues", "evaluate", "finding_key", "stored_counts"]


def finding_key(finding: Finding) -> str:
    """One finding across tests: the vulnerability in one version of a package at one path."""
    return "|".join((finding.id, finding.package, finding.installed_version, finding.path))


@dataclass(frozen=True)
class IssueCounts:
    """The findings no rule ignores, by severity (every level of LEVELS, ``unknown`` for the
    unrated), and beside them the ignored ones, the fixable ones and the total."""

    by_severity: Mapping[str, int]
    ignored: int = 0
    fixable: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    @property
    def unrated(self) -> int:
        return self.by_severity.get("unknown", 0)

    def as_dict(self) -> dict[str, int]:
        """``{level: n}`` for every level, as the API shows ``issue_counts``."""
        return {level: int(self.by_severity.get(level, 0)) for level in LEVELS}


def count_issues(findings: Iterable[Finding]) -> IssueCounts:
    """The counts of findings already marked by ``apply_ignores`` (``finding.ignored``)."""
    by_severity = dict.fromkeys(LEVELS, 0)
    ignored = fixable = 0
    for finding in findings:
        if finding.ignored is not None:
            ignored += 1
            continue
        level = finding.severity if finding.severity in by_severity else "unknown"
        by_severity[level] += 1
        fixable += finding.fixed_version is not None
    return IssueCounts(by_severity, ignored, fixable)


def stored_counts(record: Mapping[str, Any]) -> IssueCounts:
    """The counts a project record holds. Records written before every level was stored kept
    only the rated levels (and, earlier still, not ``negligible``): what the findings count
    says beyond them is unrated."""
    stored = record.get("issue_counts") or {}
    findings = int(record.get("finding_count", 0))
    ignored = int(record.get("ignored_count", 0))
    by_severity = {level: int(stored.get(level, 0)) for level in LEVELS}
    if "unknown" not in stored:
        rated = sum(by_severity[level] for level in LEVELS if level != "unknown")
        by_severity["unknown"] = max(0, findings - ignored - rated)
    return IssueCounts(by_severity, ignored, int(record.get("fixable_count", 0)))


@dataclass
class Outcome:
    """What one test of a project comes to (see the module's docstring)."""

    counts: IssueCounts
    new: list[Finding] = field(default_factory=list)
    to_notify: list[Finding] = field(default_factory=list)
    counts_valid_until: date | None = None  # the first expiry among the ignores behind the counts

    @property
    def new_keys(self) -> set[str]:
        return {finding_key(f) for f in self.new}

    @property
    def notify_keys(self) -> set[str]:
        return {finding_key(f) for f in self.to_notify}


def evaluate(findings: list[Finding], ignores: list[IgnoreRule], policy: NotificationPolicy | None = None,
             previous: list[Finding] | None = None, today: date | None = None) -> Outcome:
    """Mark ``findings`` with the ignores in force (in place) and decide the outcome against
    the ``previous`` test's findings (None: this is the project's first test: every finding
    not ignored is new to it, and nobody is notified: it is the baseline). The previous
    findings are marked as they were recorded (their ``ignored``)."""
    triage = apply_ignores(findings, ignores, today)
    counts = count_issues(findings)
    keyed = {finding_key(f): f for f in findings}
    before = {finding_key(f) for f in previous} if previous is not None else set()
    new = [keyed[key] for key in sorted(set(keyed) - before) if keyed[key].ignored is None]
    if previous is None:
        return Outcome(counts, new, [], triage.valid_until)
    policy = policy or NotificationPolicy()
    admitted_before = {finding_key(f) for f in previous if policy.admits(f)}
    to_notify = [f for key, f in sorted(keyed.items()) if key not in admitted_before and policy.admits(f)]
    return Outcome(counts, new, to_notify, triage.valid_until)
