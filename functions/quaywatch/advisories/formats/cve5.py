"""CVE JSON 5 records (CVEProject/cvelistV5: ``{"dataType": "CVE_RECORD", "cveMetadata",
"containers": {"cna": ..., "adp": [...]}}``) into ratings: the numbering authority's
metrics (``cna``) and the authorised data publishers' (``adp``, e.g. CISA-ADP's vectors for
CVEs whose CNA gave none). Rejected records rate nothing."""

from __future__ import annotations

from typing import Any

from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.formats.nvd import english
from quaywatch.advisories.models import Rating, Severity

_LEVELS = {"critical", "high", "moderate", "medium", "low", "none"}
_METRICS = (("cvssV3_1", "CVSS_V3"), ("cvssV3_0", "CVSS_V3"), ("cvssV4_0", "CVSS_V4"), ("cvssV2_0", "CVSS_V2"))


def looks_like_cve5(document: Any) -> bool:
    return isinstance(document, dict) and document.get("dataType") == "CVE_RECORD" and "cveMetadata" in document


def parse_cve5(document: dict) -> list[Rating]:
    metadata = document.get("cveMetadata")
    cve_id = metadata.get("cveId") if isinstance(metadata, dict) else None
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-"):
        raise InvalidRecordError("a CVE record without cveMetadata.cveId")
    if metadata.get("state") == "REJECTED":
        return []
    containers = document.get("containers")
    if not isinstance(containers, dict) or not isinstance(containers.get("cna"), dict):
        raise InvalidRecordError(f"{cve_id}: a published CVE record without a cna container")
    cna = containers["cna"]
    summary = english(cna.get("descriptions"))
    modified = metadata.get("dateUpdated")
    ratings = []
    rated = _rating(cve_id, "cna", cna, summary, modified)
    if rated:
        ratings.append(rated)
    adps = containers.get("adp") or []
    for adp in adps if isinstance(adps, list) else []:
        rated = _rating(cve_id, "adp", adp, summary, modified) if isinstance(adp, dict) else None
        if rated:
            ratings.append(rated)
            break  # one adp rating per CVE: the first publisher that scored it
    return ratings


def _rating(cve_id: str, source: str, container: dict, summary: str | None, modified: str | None) -> Rating | None:
    metrics = container.get("metrics") or []
    if not isinstance(metrics, list):
        raise InvalidRecordError(f"{cve_id}: {source} metrics must be a list")
    vectors: list[Severity] = []
    levels: list[str] = []
    for key, kind in _METRICS:
        for metric in metrics:
            data = metric.get(key) if isinstance(metric, dict) else None
            if isinstance(data, dict) and isinstance(data.get("vectorString"), str):
                if all(v.type != kind for v in vectors):
                    vectors.append(Severity(type=kind, score=data["vectorString"]))
                if isinstance(data.get("baseSeverity"), str):
                    levels.append(data["baseSeverity"])
    for metric in metrics:  # a CNA's own scale, e.g. OpenSSL's {"other": {"content": {"text": "LOW"}}}
        other = metric.get("other") if isinstance(metric, dict) else None
        content = other.get("content") if isinstance(other, dict) else None
        text = content.get("text") if isinstance(content, dict) else None
        if isinstance(text, str) and text.strip().lower() in _LEVELS:
            levels.append(text.strip())
    if not vectors and not levels:
        return None
    return Rating(vulnerability=cve_id, source=source, severity=levels[0] if levels else None, vectors=vectors,
                  summary=summary, modified=modified if isinstance(modified, str) else None)
