"""NVD CVE API 2.0 records (the API's pages and the ``nvdcve-2.0-*.json`` feed files, both
``{"format": "NVD_CVE", "vulnerabilities": [{"cve": {...}}]}``) into ratings.

NVD names products by CPE, not by the package names images carry, so quaywatch does not
match on NVD: it reads the CVSS metrics. A ``Primary`` metric is NVD's own analysis
(``nvd``); a ``Secondary`` one is the numbering authority's when its source is the record's
``sourceIdentifier`` (``cna``) and an authorised data publisher's otherwise, in practice
CISA-ADP (``adp``). NVD copies CISA's KEV fields (``cisaExploitAdd``) into the record;
they are read as a known-exploited entry.
"""

from __future__ import annotations

from typing import Any

from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.models import KnownExploited, Rating, Severity

# metric lists in the order their qualitative rating is preferred (as matching.severity's CVSS order)
_METRICS = (("cvssMetricV31", "CVSS_V3"), ("cvssMetricV30", "CVSS_V3"), ("cvssMetricV40", "CVSS_V4"),
            ("cvssMetricV2", "CVSS_V2"))


def looks_like_nvd_feed(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == "NVD_CVE" and "vulnerabilities" in document


def looks_like_nvd_cve(document: Any) -> bool:
    """One ``cve`` object on its own (as NVD mirrors keep them, one file per CVE)."""
    return (isinstance(document, dict) and isinstance(document.get("id"), str) and document["id"].startswith("CVE-")
            and "sourceIdentifier" in document and ("metrics" in document or "descriptions" in document))


def parse_nvd_item(item: Any) -> tuple[list[Rating], KnownExploited | None]:
    """One element of ``vulnerabilities`` (``{"cve": {...}}``)."""
    if not isinstance(item, dict) or not isinstance(item.get("cve"), dict):
        raise InvalidRecordError("an NVD vulnerabilities entry without a cve object")
    return parse_nvd_cve(item["cve"])


def parse_nvd_cve(cve: dict) -> tuple[list[Rating], KnownExploited | None]:
    cve_id = cve.get("id")
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-"):
        raise InvalidRecordError(f"an NVD record without a CVE id ({cve_id!r})")
    if cve.get("vulnStatus") == "Rejected":
        return [], None
    metrics = cve.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise InvalidRecordError(f"{cve_id}: metrics must be an object")
    authority = cve.get("sourceIdentifier")
    found: dict[str, tuple[list[Severity], list[str]]] = {}
    for key, kind in _METRICS:
        entries = metrics.get(key) or []
        if not isinstance(entries, list):
            raise InvalidRecordError(f"{cve_id}: {key} must be a list")
        for entry in entries:
            data = entry.get("cvssData") if isinstance(entry, dict) else None
            vector = data.get("vectorString") if isinstance(data, dict) else None
            if not isinstance(vector, str):
                continue
            source = "nvd" if entry.get("type") == "Primary" else "cna" if entry.get("source") == authority else "adp"
            vectors, levels = found.setdefault(source, ([], []))
            if all(v.type != kind for v in vectors):  # one vector per CVSS version and source
                vectors.append(Severity(type=kind, score=vector))
            level = data.get("baseSeverity") or entry.get("baseSeverity")
            if isinstance(level, str):
                levels.append(level)
    summary = english(cve.get("descriptions"))
    ratings = [
        Rating(vulnerability=cve_id, source=source, severity=levels[0] if levels else None, vectors=vectors,
               summary=summary, modified=cve.get("lastModified"))
        for source, (vectors, levels) in found.items()
    ]
    kev = None
    if isinstance(cve.get("cisaExploitAdd"), str):
        kev = KnownExploited(vulnerability=cve_id, date_added=cve["cisaExploitAdd"], due_date=cve.get("cisaActionDue"),
                             name=cve.get("cisaVulnerabilityName"))
    return ratings, kev


def english(descriptions: Any) -> str | None:
    """The English text of a descriptions list (NVD and CVE JSON 5 share the shape), first line."""
    if not isinstance(descriptions, list):
        return None
    for item in descriptions:
        if isinstance(item, dict) and str(item.get("lang", "")).lower().startswith("en"):
            text = str(item.get("value") or "").strip()
            return text.splitlines()[0][:300] if text else None
    return None
