"""The Debian security tracker's JSON (``security-tracker.debian.org/tracker/data/json``).

Shape: ``{source package: {CVE: {description, releases: {codename: {status,
fixed_version, urgency, nodsa_reason}}}}}``. It adds what OSV's Debian data lacks: urgency
(the vendor severity), ``<not-affected>`` (status resolved with fixed version ``0``), and
why an open issue has no fix (``postponed`` and other no-dsa -> fix deferred, ``ignored`` -> will not fix,
urgency ``end-of-life`` -> out of support). ``undetermined`` entries say nothing yet and are
skipped rather than reported as findings.
"""

from __future__ import annotations

from typing import Any

from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.models import Advisory, AffectedPackage, Event, FixStatus, Range
from quaywatch.distros.debian import release_of_codename

SOURCE = "debian-tracker"


def looks_like_debian_tracker(document: Any) -> bool:
    if not isinstance(document, dict) or not document:
        return False
    first = next(iter(document.values()))
    if not isinstance(first, dict) or not first:
        return False
    entry = next(iter(first.values()))
    return isinstance(entry, dict) and "releases" in entry


def parse_debian_tracker(document: dict, bad: list[str]) -> list[Advisory]:
    by_id: dict[str, Advisory] = {}
    for source_package, issues in document.items():
        if not isinstance(issues, dict):
            bad.append(f"{source_package}: not an object")
            continue
        for issue_id, issue in issues.items():
            if not isinstance(issue, dict) or not isinstance(issue.get("releases"), dict):
                bad.append(f"{source_package}/{issue_id}: no releases")
                continue
            for codename, state in issue["releases"].items():
                release = release_of_codename(codename)
                if release is None or not isinstance(state, dict):
                    continue  # sid and unknown codenames are not releases images run
                affected = _affected(source_package, release, state)
                if affected is None:
                    continue
                advisory = by_id.setdefault(
                    issue_id,
                    Advisory(id=issue_id, source=SOURCE, summary=_summary(issue.get("description"))),
                )
                advisory.affected.append(affected)
    if not by_id and document and not bad:
        raise InvalidRecordError("no usable entry in this Debian tracker document")
    return list(by_id.values())


def _affected(name: str, release: str, state: dict) -> AffectedPackage | None:
    status = state.get("status")
    urgency = str(state.get("urgency") or "").rstrip("*").strip() or None
    severity = {"unimportant": "negligible", "not yet assigned": None, "end-of-life": None}.get(
        urgency or "", urgency
    )
    base = {"ecosystem": "Debian", "release": release, "name": name, "severity": severity}
    if status == "resolved":
        fixed = str(state.get("fixed_version") or "")
        if not fixed or fixed == "0":
            return AffectedPackage(**base, status=FixStatus.NOT_AFFECTED)
        events = [Event(kind="introduced", version="0"), Event(kind="fixed", version=fixed)]
        return AffectedPackage(**base, ranges=[Range(events=events)], status=FixStatus.FIXED)
    if status == "open":
        reason = state.get("nodsa_reason")
        if urgency == "end-of-life":
            fix_status = FixStatus.OUT_OF_SUPPORT
        elif reason == "ignored":
            fix_status = FixStatus.WILL_NOT_FIX
        elif reason == "postponed" or "nodsa" in state:
            fix_status = FixStatus.FIX_DEFERRED  # postponed, or no-dsa: left for a point release
        else:
            fix_status = FixStatus.AFFECTED
        return AffectedPackage(
            **base, ranges=[Range(events=[Event(kind="introduced", version="0")])], status=fix_status
        )
    return None


def _summary(description: Any) -> str | None:
    return description.strip()[:300] if isinstance(description, str) and description.strip() else None
