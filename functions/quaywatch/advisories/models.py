"""The normalised advisory model every feed is converted to.

It is OSV's shape (ranges of events plus explicit versions) with what distro feeds add on
top: a per-package fix status (``not_affected``, ``will_not_fix``...) and a per-package
vendor severity (Debian urgency, Ubuntu priority).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

# The status lives apart, free of pydantic (the CLI reads it); the models re-export it.
from quaywatch.advisories.status import FINDING_STATUSES, UNFIXED, FixStatus  # noqa: F401

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
