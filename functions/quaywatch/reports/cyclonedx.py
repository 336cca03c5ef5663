"""CycloneDX 1.6 JSON: the image as ``metadata.component``, packages as ``components``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quaywatch import __version__
from quaywatch.advisories.status import FixStatus
from quaywatch.inventory.models import Inventory, Package

if TYPE_CHECKING:
    from quaywatch.matching.models import Finding

SPEC_VERSION = "1.6"
_RATING = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "negligible": "info",
           "unknown": "unknown"}
_METHOD = {"2.0": "CVSSv2", "3.0": "CVSSv3", "3.1": "CVSSv31", "4.0": "CVSSv4"}


def to_cyclonedx(inventory: Inventory, findings: list[Finding] | None = None) -> dict[str, Any]:
    """The inventory (and findings, as ``vulnerabilities``) as a CycloneDX BOM (a JSON-ready dict)."""
    image = inventory.image
    components: list[dict[str, Any]] = []
    if inventory.os is not None:
        components.append(
            {
                "type": "operating-system",
                "bom-ref": f"os:{inventory.os.id}@{inventory.os.version_id or ''}",
                "name": inventory.os.id,
                "version": inventory.os.version_id or "",
                "description": inventory.os.pretty_name or inventory.os.id,
            }
        )
    seen: dict[str, int] = {}
    refs: dict[tuple, str] = {}
    for package in inventory.packages:
        component = _component(package, seen)
        refs.setdefault(_package_identity(package.purl, package.path, package.full_name, package.version), component["bom-ref"])
        components.append(component)
    document = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "quaywatch", "version": __version__}]},
            "component": {
                "type": "container",
                "bom-ref": image.digest,
                "name": f"{image.registry}/{image.repository}",
                "version": image.digest,
                "properties": _properties(
                    {"quaywatch:image:tag": image.tag, "quaywatch:image:platform": image.platform,
                     "quaywatch:image:index_digest": image.index_digest}
                ),
            },
        },
        "components": components,
    }
    if findings is not None:
        document["vulnerabilities"] = [_vulnerability(finding, refs, index) for index, finding in enumerate(findings)]
    return document


def _package_identity(purl: str | None, path: str, name: str, version: str) -> tuple:
    return (purl, path, name, version)


def _vulnerability(finding: Finding, refs: dict[tuple, str], index: int) -> dict[str, Any]:
    target = refs.get(_package_identity(finding.purl, finding.path, finding.package, finding.installed_version))
    rating: dict[str, Any] = {"severity": _RATING.get(finding.severity, "unknown")}
    if finding.cvss_score is not None:
        rating["score"] = finding.cvss_score
        rating["vector"] = finding.cvss_vector
        version = (finding.cvss_vector or "").split("/", 1)[0].removeprefix("CVSS:")
        rating["method"] = _METHOD.get(version, "CVSSv2" if finding.cvss_vector and not finding.cvss_vector.startswith("CVSS:") else "other")
    else:
        rating["method"] = "other"
    vulnerability: dict[str, Any] = {
        "bom-ref": f"vuln:{index}:{finding.id}",
        "id": finding.id,
        "source": _source(finding.id),
        "references": [{"id": alias, "source": _source(alias)} for alias in finding.aliases],
        "ratings": [rating],
        "affects": [{"ref": target}] if target else [],
    }
    if finding.summary:
        vulnerability["description"] = finding.summary
    if finding.fixed_version:
        vulnerability["recommendation"] = f"Upgrade {finding.package} to {finding.fixed_version} or later."
    analysis = _analysis(finding)
    if analysis:
        vulnerability["analysis"] = analysis
    vulnerability["properties"] = _properties(
        {"quaywatch:fixed_version": finding.fixed_version, "quaywatch:status": finding.status.value,
         "quaywatch:severity_source": finding.severity_source, "quaywatch:origin": finding.origin,
         "quaywatch:location:path": finding.path, "quaywatch:matched_as": f"{finding.matched_as} {finding.matched_version}"}
    )
    return vulnerability


# OpenVEX's justifications in CycloneDX's words (CycloneDX 1.6 impactAnalysisJustification).
_JUSTIFICATIONS = {
    "component_not_present": "code_not_present", "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}
# What can be done, by fix status (impactAnalysisResponse); affected and deferred: nothing yet.
_RESPONSES = {FixStatus.FIXED: ["update"], FixStatus.WILL_NOT_FIX: ["will_not_fix"],
              FixStatus.OUT_OF_SUPPORT: ["can_not_fix"]}


def _analysis(finding: Finding) -> dict[str, Any] | None:
    """CycloneDX's analysis where it fits: a VEX "not affected" (with its justification), any
    other ignore as in triage (its reason and the date it lapses: no verdict on exploitability),
    and the response a fix status allows."""
    ignored = finding.ignored
    if ignored is not None and ignored.justification in _JUSTIFICATIONS:
        return {"state": "not_affected", "justification": _JUSTIFICATIONS[ignored.justification],
                "detail": ignored.reason}
    if ignored is not None:
        until = f" until {ignored.expires}" if ignored.expires else ""
        return {"state": "in_triage", "detail": f"ignored{until}: {ignored.reason}"}
    if finding.status in _RESPONSES:
        return {"response": _RESPONSES[finding.status], "detail": _STATUS_DETAIL[finding.status]}
    return None


_STATUS_DETAIL = {FixStatus.FIXED: "a fix is available", FixStatus.WILL_NOT_FIX: "the vendor will not fix it",
                  FixStatus.OUT_OF_SUPPORT: "out of the vendor's support: no fix will come"}


def _source(identifier: str) -> dict[str, str]:
    if identifier.startswith("CVE-"):
        return {"name": "NVD", "url": f"https://nvd.nist.gov/vuln/detail/{identifier}"}
    if identifier.startswith("GHSA-"):
        return {"name": "GitHub", "url": f"https://github.com/advisories/{identifier}"}
    return {"name": "OSV", "url": f"https://osv.dev/vulnerability/{identifier}"}


def _component(package: Package, seen: dict[str, int]) -> dict[str, Any]:
    ref = package.purl or f"{package.type}:{package.name}@{package.version}"
    count = seen.get(ref, 0) + 1
    seen[ref] = count
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref if count == 1 else f"{ref}#{count}",
        "name": package.name,
        "version": package.version,
    }
    if package.namespace and package.type in ("maven", "npm", "golang"):
        component["group"] = package.namespace
    if package.purl:
        component["purl"] = package.purl
    component["properties"] = _properties(
        {
            "quaywatch:package:type": package.type,
            "quaywatch:package:source_name": package.source_name,
            "quaywatch:package:source_version": package.source_version,
            "quaywatch:location:path": package.path,
            "quaywatch:location:layer": package.layer,
        }
    )
    return component


def _properties(values: dict[str, str | None]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items() if value]
