"""Exports of a monitored project: its latest test in the formats ``quaywatch scan`` writes
(CycloneDX 1.6 with vulnerabilities and their analysis, SARIF 2.1.0, JSON) and CSV, one
finding a line, with the ignores in force today."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.errors import UsageError
from quaywatch.inventory.models import to_document
from quaywatch.matching.ignores import apply_ignores
from quaywatch.matching.models import Finding
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.triage import rules_for

FORMATS = {"cyclonedx": "application/vnd.cyclonedx+json", "sarif": "application/sarif+json",
           "json": "application/json", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = ("id", "severity", "severity_source", "cvss_score", "package", "installed_version", "status",
               "fixed_version", "fix_advisory", "kev", "epss", "ignored", "ignored_reason", "ecosystem", "path",
               "layer", "aliases")


def export_project(services: Services, caller: Principal, project_id: str, kind: str) -> tuple[str, str, str]:
    """(content type, file name, body) of the project's latest test in format ``kind``."""
    if kind not in FORMATS:
        raise UsageError(f"format: {kind!r} is no export format; use " + ", ".join(FORMATS))
    project = services.projects.for_principal(caller, project_id)
    latest = services.findings.latest(project_id)
    if latest is None:
        raise NotFound(f"project {project_id} has not been tested yet: there is nothing to export")
    apply_ignores(latest.findings, rules_for(services, project))
    name = f"{project.repository.replace('/', '_')}_{project.tag}.{_suffix(kind)}"
    if kind == "csv":
        return FORMATS[kind], name, findings_csv(latest.findings)
    if kind == "cyclonedx":
        from quaywatch.reports.cyclonedx import to_cyclonedx

        document: dict[str, Any] = to_cyclonedx(latest.inventory, latest.findings)
    elif kind == "sarif":
        from quaywatch.reports.sarif import to_sarif

        document = to_sarif(latest.inventory, latest.findings)
    else:
        document = to_document(latest.inventory) | {"findings": [f.document() for f in latest.findings],
                                                    "tested_at": latest.tested_at}
    return FORMATS[kind], name, json.dumps(document, indent=2)


def _suffix(kind: str) -> str:
    return {"cyclonedx": "cdx.json", "sarif": "sarif", "json": "json", "csv": "csv"}[kind]


def findings_csv(findings: list[Finding]) -> str:
    """One finding a line (RFC 4180). A cell that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``, tab, carriage return first) is quoted with a leading ``'``:
    package names and reasons come from images and users."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow([_cell(value) for value in (
            f.id, f.severity, f.severity_source, f.cvss_score, f.package, f.installed_version, f.status.value,
            f.fixed_version, f.fix_advisory, "yes" if f.kev else "no", f.epss.score if f.epss else None,
            "yes" if f.ignored else "no", f.ignored.reason if f.ignored else None, f.ecosystem, f.path, f.layer,
            " ".join(f.aliases))])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
