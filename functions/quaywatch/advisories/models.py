"""The normalised advisory model every feed is converted to.

It is OSV's shape (ranges of events plus explicit versions) with what distro feeds add on
top: a per-package fix status (``not_affected``, ``will_not_fix``...) and a per-package
vendor severity (Debian urgency, Ubuntu priority).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr


class FixStatus(StrEnum):
    """Whether a fix exists. A finding carries one of the first five; the feeds also state
    ``not_affected`` (no finding) and ``under_investigation`` (no finding unless asked for)."""

    FIXED = "fixed"  # a fix is released: the finding's fixed_version
    AFFECTED = "affected"  # affected, no fix released yet
    FIX_DEFERRED = "fix_deferred"  # the vendor may fix it later (Red Hat "Deferred", Debian postponed / no-dsa)
    WILL_NOT_FIX = "will_not_fix"
    OUT_OF_SUPPORT = "out_of_support"  # the release or package is past its support (Debian end-of-life)
    NOT_AFFECTED = "not_affected"
    UNDER_INVESTIGATION = "under_investigation"

    @classmethod
    def _missing_(cls, value: object) -> FixStatus | None:
        # Stored findings and advisory rows written before the status was named after Red Hat's
        # "Out of support scope" say "end_of_life".
        return cls.OUT_OF_SUPPORT if value == "end_of_life" else None


UNFIXED = frozenset({FixStatus.AFFECTED, FixStatus.FIX_DEFERRED, FixStatus.WILL_NOT_FIX, FixStatus.OUT_OF_SUPPORT})
FINDING_STATUSES = (FixStatus.FIXED, *sorted(UNFIXED, key=list(FixStatus).index))


EventKind = Literal["introduced", "fixed", "last_affected", "limit"]


class Event(BaseModel):
    kind: EventKind
    version: str


class Range(BaseModel):
    type: Literal["ECOSYSTEM", "SEMVER"] = "ECOSYSTEM"
    events: list[Event] = Field(default_factory=list)
    # The events ordered and their versions parsed, per version scheme (matching.ranges):
    # stored entries are parsed once and kept (advisories.store), so a warm match reuses this.
    _ordered: dict[str, object] = PrivateAttr(default_factory=dict)


class Severity(BaseModel):
    """A score as OSV writes it: ``CVSS_V3`` + vector, or a vendor rating (``Ubuntu`` + level)."""

    type: str
    score: str


class AffectedPackage(BaseModel):
    ecosystem: str = Field(description="OSV ecosystem without release: Debian, Alpine, PyPI...")
    release: str = Field("", description="distro release: 12, 3.19, 22.04; empty for languages")
    name: str = Field(description="normalised package name (source package for Debian/Alpine)")
    ranges: list[Range] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    status: FixStatus | None = Field(None, description="explicit status from a distro feed")
    severity: str | None = Field(None, description="vendor severity for this package")
    product: str | None = Field(
        None, description="the product stream the statement is scoped to, ``vendor:product:version`` of its CPE "
        "(Red Hat VEX: redhat:enterprise_linux:9, redhat:rhel_eus:9.2); unset: the whole release")
    fix_advisory: str | None = Field(None, description="the vendor advisory that released the fix (RHSA-2024:1234)")


class Advisory(BaseModel):
    id: str
    source: str = Field(description="feed kind: osv, alpine-secdb, debian-tracker")
    aliases: list[str] = Field(default_factory=list)
    summary: str | None = None
    published: str | None = None
    modified: str | None = None
    withdrawn: str | None = None
    severities: list[Severity] = Field(default_factory=list)
    affected: list[AffectedPackage] = Field(default_factory=list)
    partition: str = Field(
        "",
        description="the slice of this advisory one document describes; re-importing a document "
        "replaces that slice only (Alpine secdb: one release and repository per file)",
    )


class BadRecord(BaseModel):
    """A record that could not be imported, and why; the import goes on without it."""

    location: str
    reason: str


RatingSource = Literal["nvd", "cna", "adp"]


class Rating(BaseModel):
    """One authority's rating of one vulnerability, from feeds that rate CVEs without naming
    packages in a form images carry (NVD, CVE JSON 5). Matching reads it by the finding's
    CVE ids, after the package feeds' own ratings (see ``matching.severity``)."""

    vulnerability: str = Field(description="the CVE id")
    source: RatingSource = Field(description="nvd (NVD's own analysis), cna (the numbering authority), adp (e.g. CISA-ADP)")
    severity: str | None = Field(None, description="the authority's qualitative rating, e.g. CRITICAL")
    vectors: list[Severity] = Field(default_factory=list, description="CVSS vectors, OSV-style types")
    summary: str | None = None
    modified: str | None = None


class KnownExploited(BaseModel):
    """An entry of CISA's Known Exploited Vulnerabilities catalog."""

    vulnerability: str
    date_added: str
    due_date: str | None = None
    name: str | None = None
    ransomware: str | None = Field(None, description="knownRansomwareCampaignUse: Known or Unknown")


class ExploitPrediction(BaseModel):
    """FIRST's EPSS: the probability of exploitation in the next 30 days, and its percentile."""

    vulnerability: str
    score: float
    percentile: float
    date: str | None = None
