"""Severity of a finding, by precedence of sources.

Each source that speaks of a finding makes a ``Claim`` (a qualitative rating, CVSS vectors or
both). The claims are ordered: the distribution's own rating for OS packages (Debian urgency,
Ubuntu priority, Red Hat severity ...), then GitHub's advisory for language packages, then
the other ecosystem databases' records (PyPA, RustSec), then NVD's analysis, then the CVE
numbering authority, then an authorised data publisher (CISA-ADP). The first claim that
rates the finding (its own level, else the rating of its CVSS base score, computed with the
``cvss`` library) gives the severity and ``severity_source``; the CVSS shown is that claim's
vector when it has one, else the first vector down the order (``cvss_source``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from quaywatch.advisories.models import Severity
from quaywatch.matching.levels import LEVELS, RANK

__all__ = ["LEVELS", "RANK", "Claim", "Score", "best_cvss", "parse_level", "rating_for_score", "score_claims"]

_VENDOR = {
    "critical": "critical", "high": "high", "important": "high", "moderate": "medium", "medium": "medium",
    "low": "low", "negligible": "negligible", "none": "negligible", "unimportant": "negligible", "untriaged": "unknown",
}


_PRECEDENCE = {"ghsa": 1, "nvd": 3, "cna": 4, "adp": 5}  # distributions 0; other databases 2


@dataclass(frozen=True)
class Claim:
    """One source's say on a finding: ``source`` is a distribution (``debian``), ``ghsa``, a
    database (``pypa``), ``nvd``, ``cna`` or ``adp``; ``distro`` marks a distribution's own."""

    source: str
    level: str | None
    vectors: tuple[Severity, ...] = ()
    distro: bool = False

    @property
    def rank(self) -> int:
        return 0 if self.distro else _PRECEDENCE.get(self.source, 2)


@dataclass(frozen=True)
class Score:
    severity: str
    source: str  # the claim's source, or "none"
    cvss_score: float | None = None
    cvss_vector: str | None = None
    cvss_version: str | None = None
    cvss_source: str | None = None


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


@lru_cache(maxsize=65536)  # CVSS v3 alone has 2,592 base vectors; v2 and v4 add theirs, each a short string
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


def score_claims(claims: list[Claim]) -> Score:
    """The severity and CVSS of a finding from its claims (any order; sorted by precedence)."""
    ordered = sorted(claims, key=lambda claim: claim.rank)  # stable: callers list the deciding feed first
    scored = [(claim, best_cvss(list(claim.vectors))) for claim in ordered]
    first_cvss = next(((claim, cvss) for claim, cvss in scored if cvss), None)
    for claim, cvss in scored:
        level = _VENDOR.get((claim.level or "").strip().lower())
        if level and level != "unknown":
            shown = (claim, cvss) if cvss else first_cvss
            if shown:
                return Score(level, claim.source, *shown[1], cvss_source=shown[0].source)
            return Score(level, claim.source)
        if cvss:
            return Score(rating_for_score(cvss[0]), claim.source, *cvss, cvss_source=claim.source)
    return Score("unknown", "none")


def parse_level(text: str) -> str:
    """A user-given severity threshold (``--fail-on high``)."""
    level = _VENDOR.get(text.strip().lower(), text.strip().lower())
    if level not in RANK:
        raise ValueError(f"unknown severity {text!r}; use one of {', '.join(LEVELS[:-1])}")
    return level
