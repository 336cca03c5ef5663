"""Severity of a finding: the vendor's rating for the package if the feed gives one, else
the qualitative rating of the CVSS base score (computed with the ``cvss`` library)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from quaywatch.advisories.models import Severity

LEVELS = ("critical", "high", "medium", "low", "negligible", "unknown")
RANK = {level: len(LEVELS) - index for index, level in enumerate(LEVELS)}  # critical highest
_VENDOR = {
    "critical": "critical", "high": "high", "important": "high", "moderate": "medium", "medium": "medium",
    "low": "low", "negligible": "negligible", "unimportant": "negligible", "untriaged": "unknown",
}


@dataclass(frozen=True)
class Score:
    severity: str
    source: str  # "vendor" or "cvss"
    cvss_score: float | None = None
    cvss_vector: str | None = None
    cvss_version: str | None = None


def best_cvss(severities: list[Severity]) -> tuple[float, str, str] | None:
    """(score, vector, version) of the newest CVSS vector that parses: v3.x, then v4, then v2."""
    by_type = {s.type: s.score for s in severities}
    for kind in ("CVSS_V3", "CVSS_V4", "CVSS_V2"):
        vector = by_type.get(kind)
        if vector:
            scored = _score_vector(kind, vector)
            if scored is not None:
                return scored
    return None


@lru_cache(maxsize=4096)
def _score_vector(kind: str, vector: str) -> tuple[float, str, str] | None:
    parser = {"CVSS_V3": CVSS3, "CVSS_V4": CVSS4, "CVSS_V2": CVSS2}[kind]
    try:
        parsed = parser(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    if kind == "CVSS_V4":
        return float(parsed.base_score), vector, "4.0"
    if kind == "CVSS_V2":
        return float(parsed.scores()[0]), vector, "2.0"
    return float(parsed.scores()[0]), vector, vector.split("/", 1)[0].removeprefix("CVSS:")


def rating_for_score(score: float) -> str:
    """CVSS v3/v4 qualitative ratings."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "negligible"


def score_finding(vendor: str | None, severities: list[Severity]) -> Score:
    cvss = best_cvss(severities)
    vendor_level = _VENDOR.get((vendor or "").strip().lower())
    if vendor_level and vendor_level != "unknown":
        return Score(vendor_level, "vendor", *(cvss or (None, None, None)))
    if cvss:
        return Score(rating_for_score(cvss[0]), "cvss", *cvss)
    return Score("unknown", "none")


def parse_level(text: str) -> str:
    """A user-given severity threshold (``--fail-on high``)."""
    level = _VENDOR.get(text.strip().lower(), text.strip().lower())
    if level not in RANK:
        raise ValueError(f"unknown severity {text!r}; use one of {', '.join(LEVELS[:-1])}")
    return level
