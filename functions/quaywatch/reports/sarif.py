"""SARIF 2.1.0 for CI code-scanning pages (GitHub, GitLab, Azure DevOps): one rule per
vulnerability, one result per vulnerable package.

Code scanning ranks results by the rule's ``security-severity`` property (a CVSS-like score as
a string) and places them on a file; an image has no source file, so each result points at the
file inside the image that declared the package (``var/lib/dpkg/status``, a METADATA, a jar),
which is also what a user has to change. ``partialFingerprints`` keep a result's identity
across re-scans, so dashboards track it instead of reporting it as new.
"""

from __future__ import annotations

import hashlib
from typing import Any

from quaywatch import __version__
from quaywatch.inventory.models import Inventory
from quaywatch.matching.models import Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/quaywatch/quaywatch"
# SARIF levels; GitHub shows security-severity above them when present.
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "negligible": "note",
          "unknown": "warning"}
# Scores GitHub maps back onto the same severity bands when a finding has no CVSS score.
_BAND_SCORE = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0, "negligible": 0.5}


def to_sarif(inventory: Inventory, findings: list[Finding]) -> dict[str, Any]:
    """The findings of one image scan as a SARIF log (a JSON-ready dict)."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    image = inventory.image
    for finding in findings:
        if finding.id not in rule_index:
            rule_index[finding.id] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(finding, rule_index[finding.id], image.repository))
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "quaywatch", "version": __version__,
                                    "informationUri": INFORMATION_URI, "rules": rules}},
                "automationDetails": {"id": f"quaywatch/{image.repository}/{image.platform}/"},
                "properties": {"image": image.reference, "digest": image.digest, "platform": image.platform},
                "results": results,
            }
        ],
    }


def _rule(finding: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security", "vulnerability", finding.severity]}
    score = finding.cvss_score if finding.cvss_score is not None else _BAND_SCORE.get(finding.severity)
    if score is not None:
        properties["security-severity"] = f"{score:.1f}"
    if finding.cvss_vector:
        properties["cvss"] = finding.cvss_vector
    text = finding.summary or f"{finding.id} in {finding.matched_as}"
    return {
        "id": finding.id,
        "name": finding.id.replace("-", ""),
        "shortDescription": {"text": text[:1000]},
        "fullDescription": {"text": "; ".join([text, *(f"also known as {a}" for a in finding.aliases)])[:4000]},
        "helpUri": _help_uri(finding),
        "defaultConfiguration": {"level": _LEVEL.get(finding.severity, "warning")},
        "properties": properties,
    }


def _result(finding: Finding, index: int, repository: str) -> dict[str, Any]:
    fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else f"no fix ({finding.status})"
    message = (
        f"{finding.package} {finding.installed_version} is affected by {finding.id} "
        f"({finding.severity}); {fix}."
    )
    identity = "\0".join([repository, finding.id, finding.package_type, finding.package, finding.path])
    result = _result_fields(finding, index, message, identity)
    if finding.ignored is not None:  # code scanning shows it as dismissed, with the reason
        until = f" (until {finding.ignored.expires})" if finding.ignored.expires else ""
        result["suppressions"] = [{"kind": "external", "justification": finding.ignored.reason + until}]
    return result


def _result_fields(finding: Finding, index: int, message: str, identity: str) -> dict[str, Any]:
    return {
        "ruleId": finding.id,
        "ruleIndex": index,
        "level": _LEVEL.get(finding.severity, "warning"),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": finding.path}},
            "message": {"text": f"declared by {finding.path}" + (f" in layer {finding.layer}" if finding.layer else "")},
        }],
        "partialFingerprints": {"quaywatch/v1": hashlib.sha256(identity.encode()).hexdigest()},
        "properties": {
            "package": finding.package, "installedVersion": finding.installed_version,
            "fixedVersion": finding.fixed_version, "status": finding.status, "purl": finding.purl,
            "layer": finding.layer, "severity": finding.severity,
        },
    }


def _help_uri(finding: Finding) -> str:
    """OSV's page for the id (it resolves CVE, GHSA, PYSEC, DSA, ALSA … ids alike)."""
    return f"https://osv.dev/vulnerability/{finding.id}"
