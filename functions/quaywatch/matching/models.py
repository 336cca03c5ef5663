"""Findings: one per (vulnerability, installed package)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from quaywatch.advisories.models import FixStatus


class IgnoredBy(BaseModel):
    """Why a finding is ignored (triage) and until when; it leaves counts and ``--fail-on``."""

    reason: str
    expires: date | None = None
    justification: str | None = Field(None, description="an OpenVEX justification, when a VEX statement ignored it")


class ExploitScore(BaseModel):
    """FIRST's EPSS for the finding's CVE: probability of exploitation within 30 days."""

    score: float
    percentile: float
    date: str | None = None


class Finding(BaseModel):
    id: str = Field(description="the vulnerability id (the CVE when one is known)")
    aliases: list[str] = Field(default_factory=list, description="other ids of the same vulnerability")
    summary: str | None = None
    package: str = Field(description="installed package name")
    package_type: str
    installed_version: str
    matched_as: str = Field(description="the name the advisory uses (source package for distros)")
    matched_version: str = Field(description="the version compared (source version for Debian)")
    ecosystem: str
    release: str = ""
    purl: str | None = None
    status: FixStatus = Field(description="whether a fix exists: fixed (see fixed_version), affected, fix_deferred, "
                              "will_not_fix or out_of_support")
    fixed_version: str | None = None
    fix_advisory: str | None = Field(None, description="the vendor advisory that released the fix (RHSA-2024:1234)")
    severity: str
    severity_source: str = Field(description="who rated it: a distribution (debian, ubuntu, redhat...), ghsa, "
                                 "an ecosystem database (pypa...), nvd, cna, adp; none when nobody did")
    cvss_score: float | None = None
    cvss_vector: str | None = None
    cvss_source: str | None = Field(None, description="whose CVSS vector cvss_score/cvss_vector are")
    kev: bool = Field(False, description="listed in CISA's Known Exploited Vulnerabilities catalog")
    kev_date_added: str | None = Field(None, description="when CISA added it to the catalog")
    epss: ExploitScore | None = None
    origin: str = Field(description="os (a distro package) or application")
    path: str = Field(description="the file that declared the package (package database or manifest)")
    layer: str | None = None
    advisories: list[str] = Field(default_factory=list, description="source:id of every advisory merged here")
    ignored: IgnoredBy | None = Field(None, description="set when an ignore rule applies to this finding")
    from_base: bool | None = Field(None, description="the file came with the base image (True) or the image's own "
                                   "layers (False); unset when no base is known")

    def document(self) -> dict[str, Any]:
        """The JSON form; ``ignored``, ``from_base`` and ``fix_advisory`` only where they are known."""
        data = self.model_dump(mode="json")
        for optional in ("ignored", "from_base", "fix_advisory"):
            if data.get(optional) is None:
                data.pop(optional, None)
        if "ignored" in data and data["ignored"].get("justification") is None:
            data["ignored"].pop("justification", None)
        return data


class MatchReport(BaseModel):
    findings: list[Finding] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    distro: str | None = Field(None, description="ecosystem:release OS packages were matched in")
